"""Reading a mosaic item: each part read onto the same grid, every pixel taken from the first part with data.

Parts are ordered best-coverage first by the catalog (:mod:`geovigie.tools.catalog.mosaic`); parts in another
UTM zone are warped onto the grid like any co-registered scene. A part that holds no valid pixel of the
window is skipped. The share of the window each part supplied is kept for provenance (``vsi.part_shares``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from geovigie.core.errors import NoDataError
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.scene import Scene
from geovigie.tools.raster.vsi import record_parts


def parts_of(scene: Scene) -> list[dict[str, Any]]:
    """The part items of a mosaic scene (empty for a plain scene)."""
    parts = scene.properties.get("geovigie:parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def read_mosaic(scene: Scene, n_bands: int, grid: Grid, read_part: Callable[[Scene], np.ndarray]) -> np.ndarray:
    """(bands, H, W) float32 of a mosaic scene on ``grid``: each pixel from the first part with data.

    Args:
        scene: The mosaic scene.
        n_bands: Number of bands read.
        grid: The grid.
        read_part: Reads the same bands of one part scene onto ``grid`` (raises ``NoDataError`` when empty).

    Raises:
        NoDataError: no part has valid pixels in the window.
    """
    data = np.full((n_bands, grid.height, grid.width), np.nan, np.float32)
    empty = np.ones(grid.shape, bool)
    counts: dict[str, int] = {}
    for part in parts_of(scene):
        if not empty.any():
            break
        try:
            values = read_part(Scene(part))
        except NoDataError:
            continue
        take = empty & np.isfinite(values).all(axis=0)
        data[:, take] = values[:, take]
        empty &= ~take
        counts[str(part["id"])] = int(take.sum())
    if empty.all():
        raise NoDataError(
            f"No part of mosaic {scene.id} has valid pixels in the requested area.",
            hint="Search imagery that covers this area.",
        )
    record_parts(scene.id, counts)
    return data
