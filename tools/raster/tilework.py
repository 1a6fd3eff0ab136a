"""Pieces every executor of tiled work shares: the tile job, its result, class counts, scratch GeoTIFFs, COGs.

Threads (:mod:`geovigie.tools.raster.tiling`) and Dask (:mod:`geovigie.tools.raster.executor`) run the same
:class:`TileJob` on the same tiles and reduce them into the same :class:`TiledResult`, so the two paths give the
same figures and rasters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.enums import Resampling
from rasterio.io import DatasetWriter

from geovigie.core.errors import NoDataError
from geovigie.tools.raster.grid import Grid, Tile
from geovigie.tools.raster.read import DatasetCache, RasterData, read_bands
from geovigie.tools.raster.scene import Scene

NODATA = 255
"""Class value written where the inputs have no valid data."""
TileFn: TypeAlias = Callable[[list[RasterData]], np.ndarray]


@dataclass
class TiledResult:
    """Outcome of a tiled run."""

    histogram: dict[int, int] = field(default_factory=dict)
    """Pixel count per class value (NODATA excluded)."""
    valid_pixels: int = 0
    tiles: int = 0
    path: Path | None = None
    """COG of the class raster (when an output path was requested)."""
    total_tiles: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    """Tiles that failed after their retries (index in ``iter_tiles`` order -> error); left NODATA."""
    cancelled: bool = False
    executor: str = "threads"
    run_id: str | None = None
    """Id of the persisted run (Dask runs with a database), to cancel or resume it."""
    resumed_tiles: int = 0
    """Tiles taken from an earlier, interrupted life of the same run."""

    @property
    def coverage(self) -> float:
        """Share of the tiles whose pixels are in the result (1.0 unless tiles failed or the run was cancelled)."""
        return self.tiles / self.total_tiles if self.total_tiles else 1.0

    def fraction(self, value: int) -> float:
        """Share of valid pixels with this class value."""
        return self.histogram.get(value, 0) / self.valid_pixels if self.valid_pixels else 0.0


def write_profile(grid: Grid, tile_size: int) -> dict[str, object]:
    """Profile of a tiled uint8 class GeoTIFF on ``grid`` (blocks that divide ``tile_size`` when possible)."""
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


def open_scratch(path: str, profile: dict[str, object]) -> DatasetWriter:
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


@dataclass(frozen=True)
class TileJob:
    """What every tile of a run needs: the scenes and bands to read, the grid and the tile function.

    Sent once to each Dask worker (pickled), so the tile function and what it holds must be picklable.
    """

    scenes: tuple[Scene, ...]
    bands: tuple[tuple[str, ...], ...]
    grid: Grid
    fn: TileFn

    def classify(self, tile: Tile, datasets: DatasetCache | None = None) -> np.ndarray:
        """The uint8 class raster of one tile's core (NODATA where invalid)."""
        return classify_tile(tile, scenes=self.scenes, bands=self.bands, grid=self.grid, fn=self.fn, datasets=datasets)


def classify_tile(
    tile: Tile,
    *,
    scenes: Sequence[Scene],
    bands: Sequence[Sequence[str]],
    grid: Grid,
    fn: TileFn,
    datasets: DatasetCache | None = None,
) -> np.ndarray:
    """The uint8 classes of a tile's core: NODATA when its inputs have no valid pixel."""
    sub = grid.subgrid(tile.read)
    try:
        rasters = [read_bands(scene, list(b), sub, datasets=datasets) for scene, b in zip(scenes, bands, strict=True)]
        classes = fn(rasters)[tile.core_slices()]
    except NoDataError:
        classes = np.full((int(tile.core.height), int(tile.core.width)), NODATA, dtype=np.uint8)
    return classes.astype(np.uint8, copy=False)


def class_counts(classes: np.ndarray, known: dict[int, int]) -> dict[int, int]:
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
