"""Tiled processing of large areas with bounded memory.

A per-tile function maps the bands of one or more co-registered scenes (read on the tile's window with
overlap) to a uint8 class raster. Results are cropped to each tile's core, streamed into a tiled GeoTIFF on
disk and counted per class, so peak memory depends on the tile size, not the scene size. The GeoTIFF is then
converted to a Cloud-Optimized GeoTIFF.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from core.errors import NoDataError
from tools.base import ProgressFn
from tools.raster_grid import Grid, iter_tiles, tile_count
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
        for tile in iter_tiles(grid, tile_size=tile_size, overlap=overlap):
            _process_tile(tile.read, tile.core_slices(), tile.core, scenes, bands, grid, fn, result, dst)
            result.tiles += 1
            if progress is not None:
                progress(result.tiles / total, f"tile {result.tiles}/{total}")
        if dst is not None:
            dst.close()
            dst = None
            assert out_path is not None and tmp_path is not None
            rasterio.shutil.copy(tmp_path, out_path, driver="COG", compress="DEFLATE")
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


def _process_tile(
    read: Window,
    core: tuple[slice, slice],
    core_window: Window,
    scenes: Sequence[Scene],
    bands: Sequence[Sequence[str]],
    grid: Grid,
    fn: TileFn,
    result: TiledResult,
    dst: rasterio.io.DatasetWriter | None,
) -> None:
    sub = grid.subgrid(read)
    try:
        rasters = [read_bands(scene, list(b), sub) for scene, b in zip(scenes, bands, strict=True)]
        classes = fn(rasters)[core]
    except NoDataError:
        classes = np.full((int(core_window.height), int(core_window.width)), NODATA, dtype=np.uint8)
    values, counts = np.unique(classes, return_counts=True)
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        if value != NODATA:
            result.histogram[value] = result.histogram.get(value, 0) + count
            result.valid_pixels += count
    if dst is not None:
        dst.write(classes.astype(np.uint8), 1, window=core_window)


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
