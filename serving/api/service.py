"""The turn service: runs agent turns (blocking or streamed) and records them. Shared by API and UI."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from geovigie.agent.answer import Answer
from geovigie.agent.runner import Agent, validate_question
from geovigie.core.db.models import Artifact as ArtifactRow
from geovigie.core.errors import OverloadedError, ThreadNotFoundError
from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import ANONYMOUS_OWNER, begin_turn, end_turn, record_turn, thread_owner
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
    max_queued_turns: int | None = None
    """Turns waiting for a slot; one more is refused with :class:`OverloadedError` (HTTP 429). None: four times
    ``max_concurrent_turns``."""
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.Semaphore = field(init=False)
    _admitted: int = field(default=0, init=False)
    _durations: list[float] = field(default_factory=list, init=False)
    _artifact_ids: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        if self.max_concurrent_turns is None:
            cores = max(2, os.cpu_count() or 1)
            self.max_concurrent_turns = cores if self.agent.planner == "offline" else 4 * cores
        if self.max_queued_turns is None:
            self.max_queued_turns = 4 * self.max_concurrent_turns
        self._slots = threading.Semaphore(self.max_concurrent_turns)

    def _thread_lock(self, thread_id: str) -> threading.Lock:
        # One turn at a time per thread: two concurrent turns on one checkpoint would interleave its state.
        with self._guard:
            return self._locks.setdefault(thread_id, threading.Lock())

    @property
    def load(self) -> dict[str, int]:
        """Turns admitted (running or queued) and the bounds."""
        assert self.max_concurrent_turns is not None and self.max_queued_turns is not None
        return {"admitted": self._admitted, "slots": self.max_concurrent_turns, "queue": self.max_queued_turns}

    def _admit(self) -> int:
        """Take a place (running or queued) or refuse; returns the queue position (0: a slot is free)."""
        assert self.max_concurrent_turns is not None and self.max_queued_turns is not None
        with self._guard:
            if self._admitted >= self.max_concurrent_turns + self.max_queued_turns:
                recent = self._durations[-20:]
                typical = sum(recent) / len(recent) if recent else 5.0
                raise OverloadedError(
                    f"GeoVigie is busy: {self._admitted} questions are running or waiting.",
                    hint="Retry in a few seconds.",
                    retry_after_s=max(1, min(60, round(typical))),
                )
            self._admitted += 1
            return max(0, self._admitted - self.max_concurrent_turns)

    def _release(self, started: float) -> None:
        with self._guard:
            self._admitted -= 1
            self._durations = [*self._durations[-99:], time.monotonic() - started]

    def check_owner(self, thread_id: str, owner: str) -> None:
        """Refuse a thread that belongs to another principal (as if it did not exist).

        Raises:
            ThreadNotFoundError: the thread exists and is someone else's.
        """
        found = thread_owner(self.ctx.db, thread_id)
        if found is not None and found != owner:
            raise ThreadNotFoundError(f"No thread {thread_id!r}.", hint="Start a new thread (omit thread_id).")

    def ask(
        self,
        question: str,
        *,
        thread_id: str | None = None,
        owner: str = ANONYMOUS_OWNER,
        confirm_large_runs: bool = False,
        examples: Sequence[Mapping[str, Any]] | None = None,
    ) -> Answer:
        """Run a turn to completion and record it (``examples``: labelled places for map_from_examples)."""
        final: dict[str, Any] | None = None
        events = self.stream(
            question, thread_id=thread_id, owner=owner, confirm_large_runs=confirm_large_runs, examples=examples
        )
        for event in events:
            if event.get("type") == "final":
                final = event["answer"]
        assert final is not None
        return Answer.model_validate(final)

    def stream(
        self,
        question: str,
        *,
        thread_id: str | None = None,
        owner: str = ANONYMOUS_OWNER,
        confirm_large_runs: bool = False,
        examples: Sequence[Mapping[str, Any]] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Admit a turn, run it in a worker thread and return its events.

        ``examples`` (labelled places picked on the map or sent over the API) ride with the question to the
        planner, which keeps them in the thread's dialogue state.

        Checks happen here, before any event (so an HTTP edge can still answer 4xx/429): the question, the
        thread's owner, the queue bound. A turn that must wait for a slot first emits ``queued`` with its position.
        The turn always runs to completion and is recorded, even if the consumer stops reading (a client that
        disconnects mid-stream never leaves a half-finished thread).

        Raises:
            ToolInputError: the question is empty or too long.
            ThreadNotFoundError: the thread belongs to another principal.
            OverloadedError: the queue is full.
        """
        text = validate_question(question)
        tid = thread_id or uuid.uuid4().hex
        self.check_owner(tid, owner)
        position = self._admit()
        events: queue.Queue[object] = queue.Queue()
        if position:
            events.put({"type": "queued", "position": position, "thread_id": tid})
        worker = threading.Thread(
            target=self._run, args=(text, tid, owner, events, confirm_large_runs, examples), daemon=True
        )
        try:
            worker.start()
        except BaseException:
            self._release(time.monotonic())
            raise
        return self._drain(events)

    @staticmethod
    def _drain(events: queue.Queue[object]) -> Iterator[dict[str, Any]]:
        while True:
            item = events.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, dict)
            yield item

    def _note_artifacts(self, event: dict[str, Any]) -> None:
        found = event.get("artifacts") or (event.get("answer") or {}).get("artifacts") or []
        with self._guard:
            self._artifact_ids.update(str(a["id"]) for a in found if isinstance(a, dict) and "id" in a)

    def knows_artifact(self, artifact_id: str) -> bool:
        """True for artifacts made by a turn: announced in this process's events or recorded in the database."""
        with self._guard:
            if artifact_id in self._artifact_ids:
                return True
        with self.ctx.db.session() as session:
            return session.get(ArtifactRow, artifact_id) is not None

    def _begin(self, text: str, thread_id: str, owner: str) -> int | None:
        try:
            return begin_turn(self.ctx.db, thread_id=thread_id, question=text, owner=owner)
        except SQLAlchemyError as exc:  # the turn still runs; record_turn adds the question at the end
            logger.warning("could not record the start of a turn on %s: %s", thread_id, exc)
            return None

    def _run(
        self, text: str, thread_id: str, owner: str, events: queue.Queue[object], confirm_large_runs: bool = False,
        examples: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:  # fmt: skip
        started = time.monotonic()
        # The turn's tools see the confirmation through a context variable (this thread's context).
        LARGE_RUNS_CONFIRMED.set(confirm_large_runs)
        question_id: int | None = None
        try:
            with self._thread_lock(thread_id), self._slots:
                question_id = self._begin(text, thread_id, owner)
                extra = {"examples": examples} if examples else {}  # agents without examples keep working
                for event in self.agent.stream(text, thread_id=thread_id, **extra):
                    self._note_artifacts(event)
                    if event.get("type") == "final":
                        self._record(event["answer"], owner=owner, question_id=question_id)
                        question_id = None
                    events.put(event)
        except BaseException as exc:  # handed to the consumer, which maps it at the edge
            logger.exception("turn failed")
            events.put(exc)
        finally:
            if question_id is not None:
                with contextlib.suppress(SQLAlchemyError):
                    end_turn(self.ctx.db, question_id, "failed")
            self._release(started)
            events.put(_DONE)

    def _record(self, answer: dict[str, Any], *, owner: str = ANONYMOUS_OWNER, question_id: int | None = None) -> None:
        """Record a finished turn, retrying while the database is locked or unreachable.

        The record is one transaction, so a failure leaves no partial turn. If every try fails, the answer is
        still delivered, with a note saying it was not saved.
        """
        error: SQLAlchemyError | None = None
        for attempt in range(1, self.record_attempts + 1):
            try:
                record_turn(self.ctx.db, Answer.model_validate(answer), owner=owner, question_id=question_id)
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
