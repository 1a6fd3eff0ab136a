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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import DatasetWriter
from rasterio.windows import Window

from geovigie.core.errors import NoDataError
from geovigie.tools.base import ProgressFn
from geovigie.tools.raster.grid import Grid, Tile, iter_tiles, tile_count
from geovigie.tools.raster.read import DatasetCache, RasterData, read_bands
from geovigie.tools.raster.scene import Scene

NODATA = 255
"""Class value written where the inputs have no valid data."""
TILE_WORKERS = min(4, os.cpu_count() or 1)
"""Default number of tiles classified at once (threads: GDAL reads and numpy release the GIL)."""

TileFn = Callable[[list[RasterData]], np.ndarray]
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class TiledResult:
    """Outcome of a tiled run."""

    histogram: dict[int, int] = field(default_factory=dict)
    """Pixel count per class value (NODATA excluded)."""
    valid_pixels: int = 0
    tiles: int = 0
    path: Path | None = None
    """COG of the class raster (when an output path was requested)."""

    def fraction(self, value: int) -> float:
        """Share of valid pixels with this class value."""
        return self.histogram.get(value, 0) / self.valid_pixels if self.valid_pixels else 0.0


def _write_profile(grid: Grid, tile_size: int) -> dict[str, object]:
    block = 256 if tile_size % 256 == 0 else 16 * max(1, min(tile_size, 512) // 16)
    profile: dict[str, object] = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "uint8",
        "nodata": NODATA,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": block,
        "blockysize": block,
        "BIGTIFF": "IF_SAFER",
    }
    if grid.crs is not None:
        profile["crs"] = grid.crs
    elif grid.transform == Affine.identity():
        del profile["transform"]  # plain image: GDAL warns on an identity geotransform and ignores it
    return profile


def _open_scratch(path: str, profile: dict[str, object]) -> DatasetWriter:
    """The intermediate GeoTIFF, compressed with ZSTD level 1 (~8x faster to write than DEFLATE).

    Only the final COG must be DEFLATE for every reader; a GDAL build without ZSTD writes this scratch file
    uncompressed (with a warning), which is only bigger on disk.
    """
    return rasterio.open(path, "w", **profile, compress="ZSTD", zstd_level=1)


def to_cog(src_path: str | Path, out_path: Path) -> None:
    """Convert a tiled class GeoTIFF to a DEFLATE COG with nearest overviews (compressed on every core).

    Overviews are first added to the source with fast ZSTD compression, then copied by the COG driver: 0.9 s
    instead of 1.6 s at 20 000 px when the driver builds them (it compresses temporary overviews with DEFLATE,
    then decompresses them to write the COG; 2.3 s with the old single-threaded copy). They are
    built in one thread: GDAL's threaded overview builder holds buffers that grow with the raster width
    (+120 MB at 20 000 px) and is not faster here; the threaded DEFLATE compression of the copy halves its
    time. Both passes read and write sequentially, so GDAL's block cache is capped at 32 MB meanwhile
    (process-wide, restored after): at the default 5 % of RAM it would fill with blocks read once, and the
    peak memory would grow with the scene.
    """
    with rasterio.Env(COMPRESS_OVERVIEW="ZSTD", ZSTD_LEVEL_OVERVIEW=1, GDAL_CACHEMAX=32 << 20):
        with rasterio.open(src_path, "r+") as src:
            factors = _overview_factors(src.width, src.height)
            if factors and not src.overviews(1):
                # Nearest keeps class codes valid (the COG default, cubic, may invent codes) and is 2x faster.
                src.build_overviews(factors, Resampling.nearest)
        rasterio.shutil.copy(
            src_path, out_path, driver="COG", compress="DEFLATE", overview_resampling="nearest", num_threads="ALL_CPUS"
        )


def _overview_factors(width: int, height: int, block: int = 512) -> list[int]:
    """Powers of two down to one COG block, as the COG driver picks them (20 000 px: 2 ... 64)."""
    factors = []
    factor = 2
    while max(width, height) > block:
        width, height = -(-width // 2), -(-height // 2)
        factors.append(factor)
        factor *= 2
    return factors


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

    Raises:
        NoDataError: no tile had valid pixels.
    """
    result = TiledResult()
    total = tile_count(grid, tile_size=tile_size)
    tmp_path: str | None = None
    dst = None
    if out_path is not None:
        fd, tmp_path = tempfile.mkstemp(dir=out_path.parent, suffix=".tiles.tif")
        os.close(fd)
        dst = _open_scratch(tmp_path, _write_profile(grid, tile_size))
    try:
        # One GDAL environment for the whole run: otherwise every band read of every tile sets one up.
        with rasterio.Env(), DatasetCache() as datasets:
            rows = _tile_rows(grid, tile_size, overlap)
            work = partial(_classify_tile, scenes=scenes, bands=bands, grid=grid, fn=fn, datasets=datasets)
            for tile, classes in _by_rows(work, rows, workers):
                _record(classes, tile.core, result, dst)
                result.tiles += 1
                if progress is not None:
                    progress(result.tiles / total, f"tile {result.tiles}/{total}")
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
    if result.valid_pixels == 0:
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


def _classify_tile(
    tile: Tile,
    *,
    scenes: Sequence[Scene],
    bands: Sequence[Sequence[str]],
    grid: Grid,
    fn: TileFn,
    datasets: DatasetCache | None = None,
) -> np.ndarray:
    sub = grid.subgrid(tile.read)
    try:
        rasters = [read_bands(scene, list(b), sub, datasets=datasets) for scene, b in zip(scenes, bands, strict=True)]
        classes = fn(rasters)[tile.core_slices()]
    except NoDataError:
        classes = np.full((int(tile.core.height), int(tile.core.width)), NODATA, dtype=np.uint8)
    return classes.astype(np.uint8, copy=False)


def _record(classes: np.ndarray, core_window: Window, result: TiledResult, dst: DatasetWriter | None) -> None:
    for value, count in _class_counts(classes, result.histogram).items():
        if value != NODATA and count:
            result.histogram[value] = result.histogram.get(value, 0) + count
            result.valid_pixels += count
    if dst is not None:
        dst.write(classes, 1, window=core_window)


def _class_counts(classes: np.ndarray, known: dict[int, int]) -> dict[int, int]:
    """Pixel count per class value of a uint8 tile.

    Tiles mostly hold the classes already seen: counting those few values (~0.06 ms each on 1 Mpx) is ~8x
    faster than a bincount (which first converts the tile to 64-bit integers). When they do not add up to the
    tile size, another value is present and the bincount gives the exact answer.
    """
    counts = {v: int(np.count_nonzero(classes == v)) for v in (*known, NODATA)}
    if sum(counts.values()) == classes.size:
        return counts
    full = np.bincount(classes.ravel(), minlength=256)
    return {v: int(full[v]) for v in np.flatnonzero(full).tolist()}


def read_classes(path: Path, *, max_pixels: int) -> tuple[np.ndarray, int]:
    """Read a class raster back for vectorisation, decimated if larger than ``max_pixels``.

    Returns:
        (array, decimation factor: 1 means full resolution).
    """
    with rasterio.open(path) as src:
        factor = 1
        while (src.width // factor) * (src.height // factor) > max_pixels:
            factor *= 2
        out_shape = (max(1, src.height // factor), max(1, src.width // factor))
        return src.read(1, out_shape=out_shape), factor
