"""How one tiled run executes: threads in this process (small AOIs) or Dask (large ones), and what it may cost.

A tool builds an :class:`Execution` from its context and hands it to
:func:`geovigie.tools.raster.tiling.run_tiled`. The choice is made per run from the settings: ``executor=threads``
or ``dask`` forces it; ``auto`` sends a run to Dask when a scheduler address is configured or when it has more
than ``dask_min_pixels`` pixels, so the test suite and small questions never start a cluster. The cost estimate
is checked before any pixel is read (the hard ceiling ``max_pixels``, the confirmation over ``confirm_pixels``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from geovigie.core.db import Database
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.raster.cost import CostEstimate, check_cost, estimate_cost
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.scene import Scene

LARGE_RUNS_CONFIRMED: ContextVar[bool] = ContextVar("geovigie_large_runs_confirmed", default=False)
"""Set by an edge (API request with ``confirm_large_runs``) for the turn it runs: the tools' runs are confirmed."""


@dataclass
class Execution:
    """Where and under which limits a tiled run executes (see module docstring)."""

    settings: Settings
    tool: str
    title: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """What the tile function computes (thresholds...): part of the run's id, so a resumed run is the same run."""
    db: Database | None = None
    """Where long runs keep their tile states (None: no ledger, no resume)."""
    cancel: threading.Event | None = None
    confirmed: bool = False
    client: Any = None
    """A ``distributed.Client`` to use instead of the one the settings describe (tests, notebooks)."""
    estimate: CostEstimate | None = None
    """Set by :meth:`check` (the last estimate)."""

    @classmethod
    def from_context(
        cls, ctx: ToolContext, *, tool: str, title: str = "", params: dict[str, Any] | None = None
    ) -> Execution:
        """The execution a tool call gets: its settings, database, cancel flag and confirmation."""
        return cls(
            settings=ctx.settings,
            tool=tool,
            title=title,
            params=dict(params or {}),
            db=ctx.db,
            cancel=ctx.cancel,
            confirmed=ctx.confirm_large_runs or LARGE_RUNS_CONFIRMED.get(),
        )

    def kind(self, pixels: int) -> str:
        """'dask' or 'threads' for a run of ``pixels`` pixels."""
        chosen = self.settings.executor
        if chosen != "auto":
            return chosen
        if self.client is not None or self.settings.dask_scheduler:
            return "dask"
        return "dask" if pixels > self.settings.dask_min_pixels else "threads"

    def workers(self, kind: str) -> int:
        """Cores that will work on the run (Dask: the configured local workers; threads: up to 4)."""
        cores = os.cpu_count() or 1
        if kind == "dask":
            return max(1, self.settings.dask_workers or cores)
        return min(4, cores)

    def check(
        self, scenes: Sequence[Scene], bands: Sequence[Sequence[str]], grid: Grid, *, tile_size: int, overlap: int
    ) -> CostEstimate:
        """Estimate the run's cost and refuse it when over the ceiling or large and not confirmed.

        Raises:
            ToolInputError: over ``max_pixels``.
            ConfirmationRequiredError: over ``confirm_pixels`` without confirmation.
        """
        kind = self.kind(grid.width * grid.height)
        self.estimate = estimate_cost(
            scenes, bands, grid, tile_size=tile_size, overlap=overlap, settings=self.settings, executor=kind,
            workers=self.workers(kind),
        )  # fmt: skip
        check_cost(self.estimate, self.settings, confirmed=self.confirmed)
        return self.estimate

    def cancelled(self) -> bool:
        """True once the caller asked to stop."""
        return self.cancel is not None and self.cancel.is_set()
