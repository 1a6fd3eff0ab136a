"""The turn service: runs agent turns (blocking or streamed) and records them. Shared by API and UI."""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.answer import Answer
from agent.runner import Agent, validate_question
from core.settings import Settings
from serving.api.recorder import record_turn
from tools.base import ToolContext

logger = logging.getLogger(__name__)

_DONE = object()


@dataclass
class TurnService:
    """Runs turns on one agent and persists each finished turn exactly once."""

    settings: Settings
    ctx: ToolContext
    agent: Agent
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def _thread_lock(self, thread_id: str) -> threading.Lock:
        # One turn at a time per thread: two concurrent turns on one checkpoint would interleave its state.
        with self._guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    def ask(self, question: str, *, thread_id: str | None = None) -> Answer:
        """Run a turn to completion and record it."""
        final: dict[str, Any] | None = None
        for event in self.stream(question, thread_id=thread_id):
            if event.get("type") == "final":
                final = event["answer"]
        assert final is not None
        return Answer.model_validate(final)

    def stream(self, question: str, *, thread_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Run a turn in a worker thread and yield its events.

        The turn always runs to completion and is recorded, even if the consumer stops reading (a client that
        disconnects mid-stream never leaves a half-finished thread).
        """
        text = validate_question(question)
        tid = thread_id or uuid.uuid4().hex
        events: queue.Queue[object] = queue.Queue()
        worker = threading.Thread(target=self._run, args=(text, tid, events), daemon=True)
        worker.start()
        while True:
            item = events.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, dict)
            yield item

    def _run(self, text: str, thread_id: str, events: queue.Queue[object]) -> None:
        try:
            with self._thread_lock(thread_id):
                for event in self.agent.stream(text, thread_id=thread_id):
                    if event.get("type") == "final":
                        record_turn(self.ctx.db, Answer.model_validate(event["answer"]))
                    events.put(event)
        except BaseException as exc:  # handed to the consumer, which maps it at the edge
            logger.exception("turn failed")
            events.put(exc)
        finally:
            events.put(_DONE)
