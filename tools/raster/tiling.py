"""Tiled processing of large areas with bounded memory.

A per-tile function maps the bands of one or more co-registered scenes (read on the tile's window with
overlap) to a uint8 class raster. Results are cropped to each tile's core, streamed into a tiled GeoTIFF on
disk and counted per class, so peak memory depends on the tile size, not the scene size. The GeoTIFF is then
converted to a Cloud-Optimized GeoTIFF.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import rasterio
from rasterio.io import DatasetWriter
from rasterio.windows import Window

from geovigie.core.errors import NoDataError
from geovigie.tools.base import ProgressFn
from geovigie.tools.raster.execution import Execution
from geovigie.tools.raster.executor import run_on_dask
from geovigie.tools.raster.grid import Grid, Tile, iter_tiles, tile_count
from geovigie.tools.raster.read import DatasetCache
from geovigie.tools.raster.scene import Scene
from geovigie.tools.raster.tilework import (
    NODATA,
    TiledResult,
    TileFn,
    TileJob,
    class_counts,
    classify_tile,
    open_scratch,
    read_classes,
    to_cog,
    write_profile,
)

__all__ = ["NODATA", "TILE_WORKERS", "TiledResult", "TileFn", "TileJob", "ordered_map", "read_classes", "run_tiled",
           "to_cog"]  # fmt: skip

TILE_WORKERS = min(4, os.cpu_count() or 1)
"""Default number of tiles classified at once (threads: GDAL reads and numpy release the GIL)."""

T = TypeVar("T")
R = TypeVar("R")


def run_tiled(
    *,
    scenes: Sequence[Scene],
    bands: Sequence[Sequence[str]],
    grid: Grid,
    fn: TileFn,
    tile_size: int,
    overlap: int,
    out_path: Path | None = None,
    progress: ProgressFn | None = None,
    workers: int = 1,
    execution: Execution | None = None,
) -> TiledResult:
    """Apply ``fn`` tile by tile over ``grid``.

    Args:
        scenes: Scenes read for every tile (co-registered onto ``grid``).
        bands: Bands to read, one list per scene.
        grid: Output grid.
        fn: Tile function returning a uint8 (h, w) raster for the tile's read window (NODATA where invalid).
        tile_size: Core tile edge in pixels.
        overlap: Context pixels on each side.
        out_path: Where to write the result as a COG; None keeps only the histogram.
        progress: Progress callback (fraction, message).
        workers: Threads reading and classifying tiles (GDAL reads and numpy release the GIL); ``fn`` must
            then be thread-safe. Each thread takes whole rows of tiles and walks them left to right with its
            own open datasets, so that the blocks two neighbouring windows share stay in GDAL's cache.
            Results are counted and written as they come (the output does not depend on the order), with at
            most 3 x workers tiles in memory.
        execution: Where the run goes (threads or Dask, see :mod:`geovigie.tools.raster.execution`), its cost
            check, cancel flag and ledger; None runs in threads with no check.

    Raises:
        NoDataError: no tile had valid pixels.
        ToolInputError, ConfirmationRequiredError: the cost check refused the run.
    """
    total = tile_count(grid, tile_size=tile_size)
    if execution is not None:
        execution.check(scenes, bands, grid, tile_size=tile_size, overlap=overlap)
        if execution.kind(grid.width * grid.height) == "dask":
            job = TileJob(scenes=tuple(scenes), bands=tuple(tuple(b) for b in bands), grid=grid, fn=fn)
            return _checked(run_on_dask(job, execution, tile_size=tile_size, overlap=overlap, out_path=out_path,
                                        progress=progress))  # fmt: skip
    result = TiledResult(total_tiles=total)
    cancel = execution.cancel if execution is not None else None
    tmp_path: str | None = None
    dst = None
    if out_path is not None:
        fd, tmp_path = tempfile.mkstemp(dir=out_path.parent, suffix=".tiles.tif")
        os.close(fd)
        dst = open_scratch(tmp_path, write_profile(grid, tile_size))
    try:
        # One GDAL environment for the whole run: otherwise every band read of every tile sets one up.
        with rasterio.Env(), DatasetCache() as datasets:
            rows = _tile_rows(grid, tile_size, overlap)
            work = partial(classify_tile, scenes=scenes, bands=bands, grid=grid, fn=fn, datasets=datasets)
            for tile, classes in _by_rows(work, rows, workers):
                _record(classes, tile.core, result, dst)
                result.tiles += 1
                if progress is not None:
                    progress(result.tiles / total, f"tile {result.tiles}/{total}")
                if cancel is not None and cancel.is_set():
                    result.cancelled = True  # the generator's exit stops the other threads at their next tile
                    break
        # The inputs are closed first: their blocks leave GDAL's cache before the conversion needs memory.
        if dst is not None:
            dst.close()
            dst = None
            assert out_path is not None and tmp_path is not None
            to_cog(tmp_path, out_path)
            result.path = out_path
    finally:
        if dst is not None:
            dst.close()
        if tmp_path is not None:
            Path(tmp_path).unlink(missing_ok=True)
    return _checked(result)


def _checked(result: TiledResult) -> TiledResult:
    if result.failed and result.tiles == 0 and not result.cancelled:
        index, error = next(iter(result.failed.items()))
        raise NoDataError(
            f"Every tile of the area failed ({len(result.failed)} tiles; tile {index}: {error}).",
            hint="Check that the scene files are readable from every worker, then ask again.",
        )
    if result.valid_pixels == 0 and not result.cancelled:
        raise NoDataError(
            "No valid pixels in the requested area for these scenes.",
            hint="Check the scenes cover the area and are not all nodata.",
        )
    return result


def _tile_rows(grid: Grid, tile_size: int, overlap: int) -> list[list[Tile]]:
    rows: dict[int, list[Tile]] = {}
    for tile in iter_tiles(grid, tile_size=tile_size, overlap=overlap):
        rows.setdefault(int(tile.core.row_off), []).append(tile)
    return list(rows.values())


def _by_rows(
    work: Callable[[Tile], np.ndarray], rows: list[list[Tile]], workers: int
) -> Iterator[tuple[Tile, np.ndarray]]:
    """(tile, work(tile)) for every tile; each thread classifies whole rows in order, results come unordered.

    The first failure stops the other threads at their next tile and is raised here.
    """
    if workers <= 1:
        for row in rows:
            for tile in row:
                yield tile, work(tile)
        return
    done: queue.Queue[tuple[Tile, np.ndarray]] = queue.Queue(maxsize=2 * workers)
    stop = threading.Event()
    failures: list[BaseException] = []

    def run(row: list[Tile]) -> None:
        try:
            for tile in row:
                if stop.is_set():
                    return
                item = (tile, work(tile))
                while not stop.is_set():
                    try:
                        done.put(item, timeout=0.05)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # handed to the consumer thread, which raises it
            failures.append(exc)
            stop.set()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for row in rows:
            pool.submit(run, row)
        try:
            for _ in range(sum(len(row) for row in rows)):
                yield _next_done(done, failures)
        finally:
            stop.set()  # a failure or an abandoned generator: the other rows return at their next tile


def _next_done(done: queue.Queue[tuple[Tile, np.ndarray]], failures: list[BaseException]) -> tuple[Tile, np.ndarray]:
    while not failures:
        try:
            return done.get(timeout=0.05)
        except queue.Empty:
            continue
    raise failures[0]


def ordered_map(work: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[tuple[T, R]]:
    """(item, work(item)) in input order, computed by up to ``workers`` threads, at most 2 x workers ahead.

    Bounded read-ahead keeps memory to a few tiles; with ``workers <= 1`` everything runs in the caller's thread.
    """
    if workers <= 1:
        for item in items:
            yield item, work(item)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[T, Future[R]]] = deque()
        for item in items:
            pending.append((item, pool.submit(work, item)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _record(classes: np.ndarray, core_window: Window, result: TiledResult, dst: DatasetWriter | None) -> None:
    for value, count in class_counts(classes, result.histogram).items():
        if value != NODATA and count:
            result.histogram[value] = result.histogram.get(value, 0) + count
            result.valid_pixels += count
    if dst is not None:
        dst.write(classes, 1, window=core_window)
