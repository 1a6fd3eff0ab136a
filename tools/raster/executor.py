"""Tiled work on Dask (``dask.distributed``): tiles are tasks, reduced as they finish, never gathered.

The client (the process running the tool) submits one task per tile, at most ``4 x workers`` at a time, so the
scheduler's queue and the client's memory stay small however large the AOI. A task reads its tile's window
(with overlap) through the worker's own open datasets, classifies it, writes the class tile as a small GeoTIFF
in the run's folder and returns only its class counts: per-task memory is bounded by the tile, and no process
holds the scene. The client sums the counts (areas, shares, histograms) as tasks finish, records each tile in
the run's ledger (:mod:`geovigie.tools.raster.runs`) and reports progress; at the end it stitches the tile
files into one COG, one tile at a time.

Failures: a task that raises is retried ``tile_retries`` times by the scheduler; a worker that dies (killed,
out of memory) has its tasks re-run elsewhere by the scheduler (up to ``distributed.scheduler.allowed-failures``).
A tile that still fails is reported with its index and error, left NODATA, and the others go on; the result's
coverage says how much of the AOI it holds. A cancelled run cancels its queued and running tasks.

The cluster is a ``LocalCluster`` of processes sized from the settings (``dask_workers``,
``dask_memory_per_worker``), started on first use and kept for the life of the process, or the scheduler at
``dask_scheduler``: the same code path for both. Workers of a remote cluster must see the scene files and
``home`` at the same paths (shared storage), since tasks read scenes and write tiles themselves.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cloudpickle
import numpy as np
import rasterio

from geovigie.core.settings import Settings
from geovigie.tools.base import ProgressFn
from geovigie.tools.raster.execution import Execution
from geovigie.tools.raster.grid import Grid, Tile, iter_tiles
from geovigie.tools.raster.read import DatasetCache
from geovigie.tools.raster.runs import CANCELLED, DONE, PARTIAL, RunLedger, run_key, tile_name
from geovigie.tools.raster.tilework import (
    NODATA,
    TiledResult,
    TileJob,
    class_counts,
    open_scratch,
    to_cog,
    write_profile,
)

if TYPE_CHECKING:
    from distributed import Client

_CLIENTS: dict[tuple[Any, ...], Client] = {}
_CLIENT_LOCK = threading.Lock()


def dask_client(settings: Settings) -> Client:
    """The process-wide client of the cluster the settings describe (started on first use)."""
    key: tuple[Any, ...] = (settings.dask_scheduler, settings.dask_workers, settings.dask_memory_per_worker)
    # Imported on first use: distributed costs ~0.5 s to import, which small runs never pay.
    from distributed import Client, LocalCluster

    with _CLIENT_LOCK:
        client = _CLIENTS.get(key)
        if client is not None and client.status == "running":
            return client
        if settings.dask_scheduler:
            client = Client(settings.dask_scheduler, set_as_default=False)
        else:
            cluster = LocalCluster(
                n_workers=max(1, settings.dask_workers or os.cpu_count() or 1),
                threads_per_worker=1,  # one tile at a time per process: memory is one tile per worker
                processes=True,
                memory_limit=settings.dask_memory_per_worker,
                dashboard_address=None,
            )
            client = Client(cluster, set_as_default=False)
        _CLIENTS[key] = client
        return client


@atexit.register
def close_dask_clients() -> None:
    """Close the clients (and local clusters) this process started."""
    for client in list(_CLIENTS.values()):
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
    _CLIENTS.clear()


# --- worker side -------------------------------------------------------------------------------------------

_JOBS: OrderedDict[str, tuple[TileJob, DatasetCache]] = OrderedDict()
_JOBS_LOCK = threading.Lock()


def _job(key: str, payload: bytes) -> tuple[TileJob, DatasetCache]:
    """This worker's copy of a run's job and open datasets (the last 2 runs are kept)."""
    with _JOBS_LOCK:
        if key not in _JOBS:
            _JOBS[key] = (cloudpickle.loads(payload), DatasetCache())
            while len(_JOBS) > 2:
                _JOBS.popitem(last=False)[1][1].close()
        return _JOBS[key]


def warm(key: str, payload: bytes) -> None:
    """Unpickle a run's job on this worker ahead of its tasks (``client.run`` on every worker)."""
    _job(key, payload)


def run_tile(key: str, payload: bytes, index: int, tile: Tile, tile_dir: str) -> dict[int, int]:
    """One task: classify a tile, write its class raster to ``tile_dir``, return its class counts."""
    job, datasets = _job(key, payload)
    with rasterio.Env():
        classes = job.classify(tile, datasets)
        write_tile(Path(tile_dir) / tile_name(index), classes)
    return class_counts(classes, {})


def write_tile(path: Path, classes: np.ndarray) -> None:
    """A tile's classes as a raw ``.npy`` file, written atomically (a killed task leaves no half file).

    Raw, not GeoTIFF: opening a GeoTIFF writer costs ~14 ms a tile, a quarter of a 512 px tile's work; the
    stitcher places the tile by its index, so the file needs no georeferencing. Deleted once the COG is made.
    """
    tmp = path.with_suffix(f".{os.getpid()}.part")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(classes, dtype=np.uint8))
    os.replace(tmp, path)


# --- client side -------------------------------------------------------------------------------------------


@dataclass
class _Loop:
    """State of the client loop of one run."""

    result: TiledResult
    ledger: RunLedger | None
    progress: ProgressFn | None
    started: int = 0

    def done(self, index: int, counts: dict[int, int] | None, error: str = "") -> None:
        if counts is None:
            self.result.failed[index] = error
        else:
            _add(self.result, counts)
        if self.ledger is not None:
            self.ledger.record(index, counts, error)
        if self.progress is not None:
            finished = self.result.tiles + len(self.result.failed)
            self.progress(finished / self.result.total_tiles, f"tile {finished}/{self.result.total_tiles} (dask)")


def run_on_dask(
    job: TileJob,
    execution: Execution,
    *,
    tile_size: int,
    overlap: int,
    out_path: Path | None,
    progress: ProgressFn | None,
) -> TiledResult:
    """Run every tile of ``job`` as a Dask task (see module docstring); the tiled result, possibly partial."""
    settings = execution.settings
    client = execution.client if execution.client is not None else dask_client(settings)
    tiles = list(iter_tiles(job.grid, tile_size=tile_size, overlap=overlap))
    grid = job.grid
    key = run_key(execution.tool, execution.params, [s.id for s in job.scenes], [s.bands() for s in job.scenes],
                  job.bands, grid.crs_string, tuple(grid.transform), grid.shape, tile_size, overlap)  # fmt: skip
    result = TiledResult(total_tiles=len(tiles), executor="dask")
    ledger = None
    scratch: tempfile.TemporaryDirectory[str] | None = None
    if execution.db is not None:
        ledger = RunLedger.open(
            execution.db, key=key, tool=execution.tool, title=execution.title, total=len(tiles),
            pixels=grid.width * grid.height, root=settings.home / "runs", params=execution.params,
        )  # fmt: skip
        tile_dir, result.run_id, result.resumed_tiles = ledger.work_dir, ledger.id, ledger.resumed
    else:
        scratch = tempfile.TemporaryDirectory(prefix="geovigie-tiles-", dir=settings.home)
        tile_dir = Path(scratch.name)
    loop = _Loop(result, ledger, progress)
    try:
        if ledger is not None:
            for counts in ledger.done.values():
                _add(result, counts)
        todo = [i for i in range(len(tiles)) if ledger is None or i not in ledger.done]
        _submit_all(client, job, key, tiles, todo, str(tile_dir), execution, loop, settings.tile_retries)
        if ledger is not None:
            ledger.finish(CANCELLED if result.cancelled else PARTIAL if result.failed else DONE)
        if out_path is not None:
            result.path = _stitch(tile_dir, tiles, grid, tile_size, out_path)
    finally:
        if scratch is not None:
            scratch.cleanup()
    if ledger is not None and not result.cancelled and not result.failed:
        shutil.rmtree(tile_dir, ignore_errors=True)  # the COG holds them; partial runs keep theirs to resume
    return result


def _add(result: TiledResult, counts: dict[int, int]) -> None:
    for value, n in counts.items():
        if value != NODATA and n:
            result.histogram[value] = result.histogram.get(value, 0) + n
            result.valid_pixels += n
    result.tiles += 1


def _submit_all(
    client: Client,
    job: TileJob,
    key: str,
    tiles: list[Tile],
    todo: list[int],
    tile_dir: str,
    execution: Execution,
    loop: _Loop,
    retries: int,
) -> None:
    """Submit the tiles with bounded look-ahead; collect results, failures and cancellation."""
    from distributed import as_completed

    payload = cloudpickle.dumps(job)
    # Every worker unpickles the job (importing the tool's modules) at once, not inside its first tile task.
    client.run(warm, key, payload)
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    ahead = 4 * workers
    queue = iter(todo)
    pending: dict[str, int] = {}
    futures = as_completed(loop=client.loop)  # this client, which is not the process default

    def submit_next() -> bool:
        index = next(queue, None)
        if index is None:
            return False
        future = client.submit(run_tile, key, payload, index, tiles[index], tile_dir, key=f"tile-{key}-{index}",
                               retries=retries, pure=False)  # fmt: skip
        pending[str(future.key)] = index
        futures.add(future)
        return True

    while len(pending) < ahead and submit_next():
        pass
    for future in futures:
        index = pending.pop(str(future.key))
        settled = task_outcome(future)
        if settled is not None:
            loop.done(index, *settled)
        stop = execution.cancelled() or (loop.ledger is not None and loop.ledger.cancel_requested())
        if stop:
            loop.result.cancelled = True
            live = [f for f in futures.futures if str(f.key) in pending]
            client.cancel(live, force=True)
            break
        submit_next()
    futures.clear()


def task_outcome(future: Any) -> tuple[Any, str] | None:
    """A finished task's ``(value, "")`` or ``(None, error)``; None when it was cancelled.

    ``as_completed`` can hand over a task whose result was lost since: the worker holding it died after it
    finished, and the scheduler is computing it again. Its status then reads "lost" or "pending" for a moment,
    so asking for the result (which waits for the recomputation) is the only reliable test, not the status.
    """
    if future.status == "cancelled":
        return None
    try:
        return future.result(), ""
    except CancelledError:  # distributed's FutureCancelledError is one
        return None
    except Exception as exc:  # the task's own error, re-raised here after its retries
        return None, f"{type(exc).__name__}: {exc}"


def _stitch(tile_dir: Path, tiles: list[Tile], grid: Grid, tile_size: int, out_path: Path) -> Path:
    """The tile files (present ones; missing tiles stay NODATA) as one COG, streamed one tile at a time."""
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".tiles.tif")
    os.close(fd)
    try:
        with open_scratch(tmp, write_profile(grid, tile_size)) as dst:
            for index, tile in enumerate(tiles):
                path = tile_dir / tile_name(index)
                if path.exists():
                    dst.write(np.load(path), 1, window=tile.core)
        to_cog(tmp, out_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out_path
