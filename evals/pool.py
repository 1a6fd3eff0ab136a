"""Run tasks in worker processes with a hard per-task timeout; a hung or crashed task never stops the run.

Each worker solves one task at a time. When a task passes its deadline the worker is killed (threads cannot
be interrupted: a GDAL read or a stuck HTTP call would otherwise hold the run) and a fresh worker takes the
next task; a worker that dies (segfault, OOM) is replaced the same way. Results come back in task order
whatever the completion order, so a run with ``jobs > 1`` reports exactly what ``jobs = 1`` reports.

Workers come from a fork server where the platform has one, else are spawned. Plain ``fork`` is not used: the
parent may already run threads (LangGraph, SQLite, HTTP pools) and a child forked from a threaded process can
deadlock on a lock some other thread held at the fork. The fork server is a fresh single-threaded process that
preloads the agent once, so workers still start in milliseconds.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


_PRELOAD = ["geovigie.evals.solver", "geovigie.agent.runner", "tools"]


def _context() -> Any:
    methods = mp.get_all_start_methods()
    if "forkserver" in methods:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _worker(conn: Connection, fn: Callable[[T], R]) -> None:
    # Tools warn and log freely; in a worker that only scrambles the parent's progress bar.
    warnings.simplefilter("ignore")
    logging.getLogger().setLevel(logging.ERROR)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(fn(task))


@dataclass
class _Slot(Generic[T]):
    process: BaseProcess
    conn: Connection
    index: int | None = None
    deadline: float = 0.0


class Pool(Generic[T, R]):
    """``jobs`` worker processes applying ``fn`` to tasks, each within its own timeout."""

    def __init__(
        self,
        fn: Callable[[T], R],
        *,
        jobs: int,
        on_timeout: Callable[[T, float], R],
        on_crash: Callable[[T, str], R],
    ) -> None:
        """Prepare the pool (workers start in :meth:`map`).

        Args:
            fn: Applied to each task in a worker; must return a picklable result.
            jobs: Number of worker processes (at least 1).
            on_timeout: Builds the result of a task killed at its deadline (task, seconds allowed).
            on_crash: Builds the result of a task whose worker died (task, description).
        """
        self.fn, self.jobs = fn, max(1, jobs)
        self.on_timeout, self.on_crash = on_timeout, on_crash
        self._ctx = _context()

    def _start(self) -> _Slot[T]:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker, args=(child, self.fn), daemon=True)
        process.start()
        child.close()
        return _Slot(process=process, conn=parent)

    @staticmethod
    def _stop(slot: _Slot[T], *, kill: bool) -> None:
        if kill:
            slot.process.kill()
        else:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                slot.process.kill()
        slot.process.join(timeout=5)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(timeout=5)
        slot.conn.close()

    def map(
        self, tasks: Sequence[T], timeouts: Sequence[float], on_result: Callable[[int, R], None] | None = None
    ) -> list[R]:
        """Results of every task, in task order.

        Args:
            tasks: The tasks.
            timeouts: Seconds allowed to each task (same order).
            on_result: Called as each task finishes (task index, result), e.g. to advance a progress bar.
        """
        results: dict[int, R] = {}
        pending = list(range(len(tasks)))
        slots = [self._start() for _ in range(min(self.jobs, len(tasks)))]

        def finish(index: int, result: R) -> None:
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        try:
            while len(results) < len(tasks):
                for n, slot in enumerate(slots):
                    if slot.index is None and pending:
                        slot.index = pending.pop(0)
                        slot.deadline = time.monotonic() + timeouts[slot.index]
                        try:
                            slot.conn.send(tasks[slot.index])
                        except (BrokenPipeError, OSError):
                            finish(slot.index, self.on_crash(tasks[slot.index], "worker unavailable"))
                            self._stop(slot, kill=True)
                            slots[n] = self._start()
                busy = [s for s in slots if s.index is not None]
                wait_s = max(0.0, min(s.deadline for s in busy) - time.monotonic())
                ready = wait([s.conn for s in busy], timeout=wait_s)
                for n, slot in enumerate(slots):
                    if slot.index is None:
                        continue
                    index = slot.index
                    if slot.conn in ready:
                        try:
                            finish(index, slot.conn.recv())
                            slot.index = None
                            continue
                        except (EOFError, OSError):
                            code = slot.process.exitcode
                            finish(index, self.on_crash(tasks[index], f"worker died (exit code {code})"))
                    elif time.monotonic() >= slot.deadline:
                        finish(index, self.on_timeout(tasks[index], timeouts[index]))
                    else:
                        continue
                    self._stop(slot, kill=True)
                    slots[n] = self._start() if pending else slot
                    slot.index = None
        finally:
            for slot in slots:
                if slot.process.is_alive() or slot.process.exitcode is None:
                    self._stop(slot, kill=slot.index is not None)
        return [results[i] for i in range(len(tasks))]
