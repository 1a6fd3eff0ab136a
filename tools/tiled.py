"""Tiled processing of large areas with bounded memory.

A per-tile function maps the bands of one or more co-registered scenes (read on the tile's window with
overlap) to a uint8 class raster. Results are cropped to each tile's core, streamed into a tiled GeoTIFF on
disk and counted per class, so peak memory depends on the tile size, not the scene size. The GeoTIFF is then
converted to a Cloud-Optimized GeoTIFF.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import DatasetWriter
from rasterio.windows import Window

from core.errors import NoDataError
from tools.base import ProgressFn
from tools.raster_grid import Grid, Tile, iter_tiles, tile_count
from tools.raster_read import RasterData, read_bands
from tools.scene import Scene

NODATA = 255
"""Class value written where the inputs have no valid data."""

TileFn = Callable[[list[RasterData]], np.ndarray]


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
        "compress": "DEFLATE",
        "BIGTIFF": "IF_SAFER",
    }
    if grid.crs is not None:
        profile["crs"] = grid.crs
    return profile


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
        workers: Tiles read and classified at once in threads (GDAL reads and numpy release the GIL); ``fn``
            must then be thread-safe. Results are still counted and written in tile order, and at most
            2 x workers tiles are in memory.

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
        dst = rasterio.open(tmp_path, "w", **_write_profile(grid, tile_size))
    try:
        tiles = iter_tiles(grid, tile_size=tile_size, overlap=overlap)
        for tile, classes in _classified(tiles, lambda t: _classify_tile(t, scenes, bands, grid, fn), workers):
            _record(classes, tile.core, result, dst)
            result.tiles += 1
            if progress is not None:
                progress(result.tiles / total, f"tile {result.tiles}/{total}")
        if dst is not None:
            dst.close()
            dst = None
            assert out_path is not None and tmp_path is not None
            # Nearest overviews keep class codes valid (the COG default, cubic, may invent codes) and are 2x faster.
            rasterio.shutil.copy(tmp_path, out_path, driver="COG", compress="DEFLATE", overview_resampling="nearest")
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


def _classified(
    tiles: Iterator[Tile], work: Callable[[Tile], np.ndarray], workers: int
) -> Iterator[tuple[Tile, np.ndarray]]:
    """(tile, classes) in tile order, computed by up to ``workers`` threads, at most 2 x workers ahead."""
    if workers <= 1:
        for tile in tiles:
            yield tile, work(tile)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[tuple[Tile, Future[np.ndarray]]] = deque()
        for tile in tiles:
            pending.append((tile, pool.submit(work, tile)))
            if len(pending) >= 2 * workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()


def _classify_tile(
    tile: Tile, scenes: Sequence[Scene], bands: Sequence[Sequence[str]], grid: Grid, fn: TileFn
) -> np.ndarray:
    sub = grid.subgrid(tile.read)
    try:
        rasters = [read_bands(scene, list(b), sub) for scene, b in zip(scenes, bands, strict=True)]
        classes = fn(rasters)[tile.core_slices()]
    except NoDataError:
        classes = np.full((int(tile.core.height), int(tile.core.width)), NODATA, dtype=np.uint8)
    return classes.astype(np.uint8, copy=False)


def _record(classes: np.ndarray, core_window: Window, result: TiledResult, dst: DatasetWriter | None) -> None:
    # bincount is ~10x faster than np.unique (a sort) on a uint8 tile.
    counts = np.bincount(classes.ravel(), minlength=256)
    for value in np.flatnonzero(counts).tolist():
        if value != NODATA:
            count = int(counts[value])
            result.histogram[value] = result.histogram.get(value, 0) + count
            result.valid_pixels += count
    if dst is not None:
        dst.write(classes, 1, window=core_window)


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
