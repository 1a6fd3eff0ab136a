"""The ledger of a long tiled run: tile states in the database, so that a restart resumes or reports the run.

A run is identified by a hash of what it computes (tool, parameters, scenes, grid, tiling). Every finished tile
is recorded with its class counts, and its raster lies in the run's folder, so the same request issued again
after a crash or a restart re-runs only the missing tiles. :func:`recover_runs`, called when the API starts,
marks the runs whose driving process is gone as ``interrupted`` and lists them; :func:`request_cancel` asks the
process driving a run to stop it (it polls the flag between tiles, from any process sharing the database).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from geovigie.core.db import Database, TiledRun, TileState

RUNNING, DONE, PARTIAL, CANCELLED, INTERRUPTED = "running", "done", "partial", "cancelled", "interrupted"
CANCEL_POLL_S = 0.5
"""How often the driving process re-reads the cancel flag."""
FLUSH_S = 1.0
"""Longest time finished tiles wait before their states are written."""


def owner_id() -> str:
    """host:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host's process: cannot tell, leave it alone
    if int(pid) == os.getpid():
        return False  # this process has just started: any run it "owns" belongs to a previous life
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_key(*parts: Any) -> str:
    """Stable id of a run from what it computes (JSON of the parts, SHA-256, 32 hex digits)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class RunSummary:
    """A run as reported to the user."""

    id: str
    tool: str
    title: str
    state: str
    total_tiles: int
    done_tiles: int
    failed_tiles: int

    @property
    def coverage(self) -> float:
        """Share of the tiles done."""
        return self.done_tiles / self.total_tiles if self.total_tiles else 0.0


def _summary(row: TiledRun) -> RunSummary:
    return RunSummary(row.id, row.tool, row.title, row.state, row.total_tiles, row.done_tiles, row.failed_tiles)


@dataclass
class RunLedger:
    """Tile states of one run, written as tiles finish (see module docstring)."""

    db: Database
    id: str
    work_dir: Path
    total: int
    done: dict[int, dict[int, int]] = field(default_factory=dict)
    """Counts of the tiles already done (by a previous life of the run too)."""
    resumed: int = 0
    """Tiles found done when the run was opened."""
    _next_poll: float = 0.0
    _cancelled: bool = False
    _pending: list[TileState] = field(default_factory=list)
    _next_flush: float = 0.0

    @classmethod
    def open(
        cls,
        db: Database,
        *,
        key: str,
        tool: str,
        title: str,
        total: int,
        pixels: int,
        root: Path,
        params: dict[str, Any],
    ) -> RunLedger:
        """Start the run ``key``, or resume it with its done tiles when it exists and is not finished."""
        work_dir = root / key
        work_dir.mkdir(parents=True, exist_ok=True)
        done: dict[int, dict[int, int]] = {}
        with db.session() as s:
            row = s.get(TiledRun, key)
            if row is not None and row.total_tiles == total and row.state != DONE:
                for tile in s.scalars(select(TileState).where(TileState.run_id == key, TileState.state == DONE)):
                    if (work_dir / tile_name(tile.index)).exists():
                        done[tile.index] = {int(k): int(v) for k, v in tile.counts.items()}
                s.execute(delete(TileState).where(TileState.run_id == key, TileState.state != DONE))
            elif row is not None:
                s.execute(delete(TileState).where(TileState.run_id == key))
            if row is None:
                row = TiledRun(id=key, tool=tool, total_tiles=total, work_dir=str(work_dir), params=params)
                s.add(row)
            row.title, row.state, row.total_tiles, row.pixels = title, RUNNING, total, pixels
            row.done_tiles, row.failed_tiles, row.owner, row.cancel_requested = len(done), 0, owner_id(), False
        return cls(db=db, id=key, work_dir=work_dir, total=total, done=done, resumed=len(done))

    def record(self, index: int, counts: dict[int, int] | None, error: str = "") -> None:
        """A tile finished (``counts``) or finally failed (``error``); written in batches (see :meth:`flush`)."""
        state = DONE if counts is not None else "failed"
        self._pending.append(
            TileState(run_id=self.id, index=index, state=state, counts=dict(counts or {}), error=error[:2000])
        )
        if counts is not None:
            self.done[index] = counts
        if time.monotonic() >= self._next_flush:
            self.flush()

    def flush(self) -> None:
        """Write the recorded tiles (at most every FLUSH_S: a commit per tile would cost more than the tile).

        A crash loses at most the last FLUSH_S of tiles, which the resumed run computes again.
        """
        self._next_flush = time.monotonic() + FLUSH_S
        if not self._pending:
            return
        with self.db.session() as s:
            for tile in self._pending:
                s.merge(tile)
            row = s.get(TiledRun, self.id)
            if row is not None:
                row.done_tiles += sum(t.state == DONE for t in self._pending)
                row.failed_tiles += sum(t.state != DONE for t in self._pending)
        self._pending = []

    def cancel_requested(self) -> bool:
        """True once :func:`request_cancel` was called for this run (polled at most every CANCEL_POLL_S)."""
        now = time.monotonic()
        if not self._cancelled and now >= self._next_poll:
            self._next_poll = now + CANCEL_POLL_S
            with self.db.session() as s:
                row = s.get(TiledRun, self.id)
                self._cancelled = bool(row is not None and row.cancel_requested)
        return self._cancelled

    def finish(self, state: str) -> None:
        """Close the run with its final state."""
        self.flush()
        with self.db.session() as s:
            row = s.get(TiledRun, self.id)
            if row is not None:
                row.state = state


def tile_name(index: int) -> str:
    """File name of a tile's class raster in the run folder."""
    return f"tile{index:06d}.npy"


def request_cancel(db: Database, run_id: str) -> bool:
    """Ask the process driving ``run_id`` to stop it; False when there is no such running run."""
    with db.session() as s:
        row = s.get(TiledRun, run_id)
        if row is None or row.state != RUNNING:
            return False
        row.cancel_requested = True
        return True


def list_runs(db: Database, *, states: Sequence[str] | None = None, limit: int = 50) -> list[RunSummary]:
    """The latest runs, newest first."""
    with db.session() as s:
        query = select(TiledRun).order_by(TiledRun.updated_at.desc()).limit(limit)
        if states:
            query = query.where(TiledRun.state.in_(list(states)))
        return [_summary(row) for row in s.scalars(query)]


def recover_runs(db: Database) -> list[RunSummary]:
    """Mark the running runs whose process is gone as interrupted; return them (call when a process starts).

    An interrupted run keeps its done tiles: asking the same question again resumes it from there.
    """
    with db.session() as s:
        rows = list(s.scalars(select(TiledRun).where(TiledRun.state == RUNNING)))
        out = []
        for row in rows:
            if not _owner_alive(row.owner):
                row.state = INTERRUPTED
                out.append(_summary(row))
        return out
