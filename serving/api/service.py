"""The turn service: runs agent turns (blocking or streamed) and records them. Shared by API and UI."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from geovigie.agent.answer import Answer
from geovigie.agent.runner import Agent, validate_question
from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import record_turn
from geovigie.tools.base import ToolContext
from geovigie.tools.raster import LARGE_RUNS_CONFIRMED

logger = logging.getLogger(__name__)

_DONE = object()


@dataclass
class TurnService:
    """Runs turns on one agent and persists each finished turn exactly once."""

    settings: Settings
    ctx: ToolContext
    agent: Agent
    record_attempts: int = 3
    """Tries at recording a finished turn while the database is busy (each also waits its busy timeout)."""
    record_backoff_s: float = 0.5
    """Pause before the second try, doubled before each next one."""
    max_concurrent_turns: int | None = None
    """Turns running at once; the others wait in arrival order. None: one per CPU core (at least 2) with the
    offline planner, whose turns are CPU-bound raster work (more turns than cores only share the cores, and a
    heavy turn then takes many times its own duration); four times that with an LLM planner, whose turns
    mostly wait on the model endpoint."""
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        if self.max_concurrent_turns is None:
            cores = max(2, os.cpu_count() or 1)
            self.max_concurrent_turns = cores if self.agent.planner == "offline" else 4 * cores
        self._slots = threading.Semaphore(self.max_concurrent_turns)

    def _thread_lock(self, thread_id: str) -> threading.Lock:
        # One turn at a time per thread: two concurrent turns on one checkpoint would interleave its state.
        with self._guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    def ask(self, question: str, *, thread_id: str | None = None, confirm_large_runs: bool = False) -> Answer:
        """Run a turn to completion and record it."""
        final: dict[str, Any] | None = None
        for event in self.stream(question, thread_id=thread_id, confirm_large_runs=confirm_large_runs):
            if event.get("type") == "final":
                final = event["answer"]
        assert final is not None
        return Answer.model_validate(final)

    def stream(
        self, question: str, *, thread_id: str | None = None, confirm_large_runs: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Run a turn in a worker thread and yield its events.

        The turn always runs to completion and is recorded, even if the consumer stops reading (a client that
        disconnects mid-stream never leaves a half-finished thread).
        """
        text = validate_question(question)
        tid = thread_id or uuid.uuid4().hex
        events: queue.Queue[object] = queue.Queue()
        worker = threading.Thread(target=self._run, args=(text, tid, events, confirm_large_runs), daemon=True)
        worker.start()
        while True:
            item = events.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, dict)
            yield item

    def _run(self, text: str, thread_id: str, events: queue.Queue[object], confirm_large_runs: bool = False) -> None:
        # The turn's tools see the confirmation through a context variable (this thread's context).
        LARGE_RUNS_CONFIRMED.set(confirm_large_runs)
        try:
            with self._thread_lock(thread_id), self._slots:
                for event in self.agent.stream(text, thread_id=thread_id):
                    if event.get("type") == "final":
                        self._record(event["answer"])
                    events.put(event)
        except BaseException as exc:  # handed to the consumer, which maps it at the edge
            logger.exception("turn failed")
            events.put(exc)
        finally:
            events.put(_DONE)

    def _record(self, answer: dict[str, Any]) -> None:
        """Record a finished turn, retrying while the database is locked or unreachable.

        The record is one transaction, so a failure leaves no partial turn. If every try fails, the answer is
        still delivered, with a note saying it was not saved.
        """
        error: SQLAlchemyError | None = None
        for attempt in range(1, self.record_attempts + 1):
            try:
                record_turn(self.ctx.db, Answer.model_validate(answer))
                return
            except OperationalError as exc:  # locked or disconnected: worth another try
                error = exc
                if attempt < self.record_attempts:
                    logger.warning("recording turn of thread %s failed (try %d): %s", answer["thread_id"], attempt, exc)
                    time.sleep(self.record_backoff_s * 2 ** (attempt - 1))
            except SQLAlchemyError as exc:  # a constraint or data error will not pass on a retry
                error = exc
                break
        logger.error("turn of thread %s not recorded: %s", answer["thread_id"], error)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        answer["notes"] = [
            *answer.get("notes", []),
            f"This answer was not saved to the thread history (database error: {reason}).",
        ]
