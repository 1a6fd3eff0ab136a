"""What a tiled run will cost before it starts: pixels, tiles, bytes read, time; and the confirmation it needs.

The estimate walks the same tiles as :func:`geovigie.tools.raster.tiling.run_tiled` (read windows with their
overlap, clipped at the grid edge), so its pixel and byte counts are the ones the run reads, not a guess from the
AOI's area. Bytes use each band's stored sample size (uint16 Sentinel-2: 2 bytes) of the file it comes from;
time divides the pixels by ``throughput_mpx_s`` per core and the cores that will work on it, which is the one
approximate figure (it depends on the machine and on the tile function).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from geovigie.core.errors import ConfirmationRequiredError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.raster.grid import Grid, iter_tiles
from geovigie.tools.raster.read import open_raster
from geovigie.tools.raster.scene import Scene


class CostEstimate(BaseModel):
    """The cost of one tiled run, shown to the user before a large run."""

    pixels: int
    """Output pixels (per band)."""
    tiles: int
    pixels_read: int
    """Pixels read per band and per scene, overlap included (sum of the tiles' read windows)."""
    bytes_read: int
    """Bytes of stored samples read over all scenes and bands (decoded size, before any compression)."""
    seconds: float
    """Estimated wall time (approximate: ``throughput_mpx_s`` x cores)."""
    workers: int
    executor: str
    needs_confirmation: bool

    def describe(self) -> str:
        """One line for the user: '400 Mpx in 400 tiles, 3.2 GB to read, ~40 s on 2 workers (dask)'."""
        return (
            f"{self.pixels / 1e6:,.0f} Mpx in {self.tiles} tiles, {self.bytes_read / 1e9:,.2f} GB to read, "
            f"~{_duration(self.seconds)} on {self.workers} worker(s) ({self.executor})"
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def read_pixels(grid: Grid, *, tile_size: int, overlap: int) -> tuple[int, int]:
    """(tiles, pixels read per band) of a tiled run over ``grid``: the sum of the read windows."""
    tiles = read = 0
    for tile in iter_tiles(grid, tile_size=tile_size, overlap=overlap):
        tiles += 1
        read += int(tile.read.width) * int(tile.read.height)
    return tiles, read


def _bytes_per_pixel(scene: Scene, bands: Sequence[str]) -> int:
    """Stored bytes of one pixel of ``bands`` (one open per file)."""
    refs = [scene.require_band(b) for b in bands]
    total = 0
    sizes: dict[str, list[str]] = {}
    for ref in refs:
        if ref.href not in sizes:
            with open_raster(ref.href) as src:
                sizes[ref.href] = list(src.dtypes)
        total += np.dtype(sizes[ref.href][ref.index - 1]).itemsize
    return total


def estimate_cost(
    scenes: Sequence[Scene],
    bands: Sequence[Sequence[str]],
    grid: Grid,
    *,
    tile_size: int,
    overlap: int,
    settings: Settings,
    executor: str,
    workers: int,
) -> CostEstimate:
    """The cost of classifying ``grid`` tile by tile from ``scenes`` (one band list per scene).

    Args:
        scenes: Scenes read for every tile.
        bands: Bands read, one list per scene.
        grid: Output grid.
        tile_size: Core tile edge in pixels.
        overlap: Context pixels read on each side.
        settings: ``throughput_mpx_s`` and ``confirm_pixels``.
        executor: Where the run will go ('threads' or 'dask').
        workers: Cores that will work on it.
    """
    tiles, read = read_pixels(grid, tile_size=tile_size, overlap=overlap)
    per_pixel = sum(_bytes_per_pixel(s, b) for s, b in zip(scenes, bands, strict=True))
    pixels = grid.width * grid.height
    seconds = read * len(scenes) / 1e6 / max(settings.throughput_mpx_s, 1e-6) / max(1, workers)
    return CostEstimate(
        pixels=pixels,
        tiles=tiles,
        pixels_read=read,
        bytes_read=read * per_pixel,
        seconds=round(seconds, 3),
        workers=workers,
        executor=executor,
        needs_confirmation=pixels > settings.confirm_pixels,
    )


def check_cost(estimate: CostEstimate, settings: Settings, *, confirmed: bool) -> None:
    """Refuse a run over the hard ceiling, and a large one the user has not confirmed.

    Raises:
        ToolInputError: over ``max_pixels`` (the hard ceiling): a smaller AOI is needed.
        ConfirmationRequiredError: over ``confirm_pixels`` and not confirmed; the message carries the estimate.
    """
    if estimate.pixels > settings.max_pixels:
        side = math.isqrt(settings.max_pixels)
        raise ToolInputError(
            f"The run covers {estimate.pixels:,} pixels, over the hard ceiling of {settings.max_pixels:,} "
            f"(about {side:,} x {side:,} px): {estimate.describe()}.",
            hint="Use a smaller area of interest (bbox), or ask the operator to raise GEOVIGIE_MAX_PIXELS.",
        )
    if estimate.needs_confirmation and not confirmed:
        raise ConfirmationRequiredError(
            f"Large run: {estimate.describe()}.",
            hint="To run it, ask again starting with 'confirm:' (API: confirm_large_runs=true; CLI: "
            "geovigie ask --confirm), or use a smaller area of interest.",
        )
