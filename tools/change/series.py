"""Multi-date change: a date-ordered series of scenes, per-interval change and the first-change date map.

Each consecutive interval (t0→t1, t1→t2, ...) is classified like a pair (:mod:`geovigie.tools.change.pair`, its own
automatic threshold) on the grid of the *first* scene. The first-change map then holds, for every pixel, the
number k of the first interval in which it changed (1 = between dates 1 and 2), 0 when it never changed, and
255 when no interval had valid data there. It is built window by window from the interval class rasters, so
memory stays bounded like the rest of the tiled pipeline.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from dateutil.parser import isoparse

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import NODATA, Grid, Scene, iter_tiles, to_cog

PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (255, 165, 0), (255, 225, 25), (60, 180, 75), (0, 200, 255), (0, 90, 255), (145, 30, 180),
    (240, 50, 230),
)  # fmt: skip
"""Colours of intervals 1, 2, ... in the first-change map (cycled beyond 8)."""


def scene_date(scene: Scene) -> datetime | None:
    """Acquisition datetime of a scene, or None when unknown or unparseable."""
    if not scene.datetime:
        return None
    try:
        return isoparse(scene.datetime)
    except ValueError:
        return None


def validate_series(scenes: Sequence[Scene]) -> list[datetime]:
    """Check a multi-date series: at least 3 distinct, dated scenes in strictly increasing time order.

    Returns:
        The acquisition dates, in order.

    Raises:
        ToolInputError: fewer than 3 scenes, a repeated item, an undated scene, or dates out of order.
    """
    if len(scenes) < 3:
        raise ToolInputError(
            f"A change series needs at least 3 scenes (got {len(scenes)}).",
            hint="Give 3 or more item ids in time order, or leave series_item_ids empty for a simple pair.",
        )
    ids = [s.id for s in scenes]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ToolInputError(f"Item(s) {', '.join(repeated)} appear twice in the series.", hint="List each once.")
    dates: list[datetime] = []
    for scene in scenes:
        when = scene_date(scene)
        if when is None:
            raise ToolInputError(
                f"Scene {scene.id} has no acquisition date, so it cannot be placed in a time series.",
                hint="Use dated scenes for a series (or compare two images as a simple pair).",
            )
        dates.append(when)
    for i in range(1, len(dates)):
        if dates[i] <= dates[i - 1]:
            raise ToolInputError(
                f"The series is not in time order: {ids[i - 1]} ({dates[i - 1].date()}) comes before "
                f"{ids[i]} ({dates[i].date()}).",
                hint="Sort series_item_ids from the oldest to the newest acquisition.",
            )
    return dates


def first_change_map(
    interval_paths: Sequence[Path],
    counted: Sequence[Sequence[int]],
    grid: Grid,
    out_path: Path,
    *,
    tile_size: int,
) -> dict[int, int]:
    """Combine interval class rasters (same grid) into the first-change map, written as a COG.

    Args:
        interval_paths: One class raster per interval, in time order.
        counted: For each interval, the class values that count as change.
        grid: Their common grid.
        out_path: Where to write the COG.
        tile_size: Window edge in pixels.

    Returns:
        Pixel count per value (0 = never changed, k = first change in interval k), no data excluded.
    """
    histogram: dict[int, int] = {}
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, suffix=".series.tif")
    os.close(fd)
    profile = {"driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1, "dtype": "uint8",
               "nodata": NODATA, "transform": grid.transform, "tiled": True, "blockxsize": 256,
               "blockysize": 256, "compress": "DEFLATE"}  # fmt: skip
    if grid.crs is not None:
        profile["crs"] = grid.crs
    elif grid.transform == Affine.identity():
        del profile["transform"]  # plain image: GDAL warns on an identity geotransform and ignores it
    sources = [rasterio.open(p) for p in interval_paths]
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for tile in iter_tiles(grid, tile_size=tile_size, overlap=0):
                window = tile.core
                first = np.full((int(window.height), int(window.width)), NODATA, np.uint8)
                for k, (src, values) in enumerate(zip(sources, counted, strict=True), start=1):
                    classes = src.read(1, window=window)
                    seen = classes != NODATA
                    first[seen & (first == NODATA)] = 0
                    first[np.isin(classes, list(values)) & (first == 0)] = k
                keys, counts = np.unique(first[first != NODATA], return_counts=True)
                for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
                    histogram[key] = histogram.get(key, 0) + count
                dst.write(first, 1, window=window)
        to_cog(tmp, out_path)
    finally:
        for src in sources:
            src.close()
        Path(tmp).unlink(missing_ok=True)
    return histogram


def render_first_change(rgb: np.ndarray, first: np.ndarray, *, alpha: float = 0.7) -> np.ndarray:
    """Blend the first-change map (interval k coloured with ``PALETTE[k-1]``) onto an RGB image."""
    out = rgb.astype(np.float32).copy()
    for k in range(1, int(first[first != NODATA].max(initial=0)) + 1):
        where = first == k
        if where.any():
            colour = np.array(PALETTE[(k - 1) % len(PALETTE)], np.float32)
            out[where] = out[where] * (1 - alpha) + colour * alpha
    return out.astype(np.uint8)


def interval_colour(k: int) -> tuple[int, int, int]:
    """Legend colour of interval k (1-based)."""
    return PALETTE[(k - 1) % len(PALETTE)]
