"""The pixel budget every raster read goes through: refuse before decoding more source pixels than allowed.

A read onto a coarser grid (a quicklook, a map) decodes the source at full resolution unless an overview
serves it, so a 300 KB file declaring 100 000 x 100 000 px would decode 10^10 pixels (memory grew past 6 GB in
15 s before this check). :func:`check_read_budget` counts the source window the grid covers at the overview
that will serve it and refuses beyond ``Settings.max_pixels``; :func:`at_overview` then reads through that
overview (a decimated read).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import DatasetReader
from rasterio.warp import transform_bounds
from rasterio.windows import from_bounds

from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import PIXEL_BUDGET
from geovigie.tools.raster.grid import Grid


def read_budget() -> int:
    """Source pixels one read may decode: the running tool's ``max_pixels``, else the settings default."""
    budget = PIXEL_BUDGET.get()
    return int(budget if budget is not None else Settings.model_fields["max_pixels"].default)


def _source_window(src: DatasetReader, grid: Grid) -> tuple[float, float]:
    """(width, height) in source pixels of the part of ``src`` that ``grid`` covers."""
    if grid.crs is None or src.crs is None:
        return float(min(grid.width, src.width)), float(min(grid.height, src.height))
    bounds = grid.bounds if src.crs == grid.crs else transform_bounds(grid.crs, src.crs, *grid.bounds)
    window = from_bounds(*bounds, transform=src.transform)
    width = min(max(float(window.width), 0.0), float(src.width))
    height = min(max(float(window.height), 0.0), float(src.height))
    return width, height


def check_read_budget(src: DatasetReader, grid: Grid, *, scene_id: str, band: int = 1) -> int | None:
    """Refuse a read of ``src`` onto ``grid`` that would decode more than :func:`read_budget` pixels per band.

    The cost is the covered source window at the overview GDAL can use (the coarsest one still at least as fine
    as the grid), or the output grid when that is larger.

    Returns:
        The overview level to read from (None: the full-resolution band).

    Raises:
        ToolInputError: over the budget, saying how to get under it.
    """
    budget = read_budget()
    width, height = _source_window(src, grid)
    factors = [f for f in src.overviews(band) if f > 1] if src.crs is not None else []
    step = min(width / max(grid.width, 1), height / max(grid.height, 1))
    usable = [i for i, f in enumerate(factors) if f <= step]
    level = usable[-1] if usable else None
    factor = factors[level] if level is not None else 1
    cost = max((width / factor) * (height / factor), float(grid.width) * float(grid.height))
    if cost > budget:
        raise ToolInputError(
            f"Reading scene {scene_id} here would decode {cost:,.0f} pixels per band "
            f"(a {src.width:,}x{src.height:,} px file), over the pixel budget of {budget:,}.",
            hint="Use a smaller area of interest, add overviews to the file (gdaladdo) and re-ingest it, or raise "
            "GEOVIGIE_MAX_PIXELS.",
        )
    return level


@contextmanager
def at_overview(src: DatasetReader, href: str, level: int | None) -> Iterator[DatasetReader]:
    """``src`` itself, or the same file opened at an overview level (a decimated read through overviews).

    Raises:
        ToolInputError: the overview cannot be opened.
    """
    if level is None:
        yield src
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            overview = rasterio.open(href, overview_level=level)
    except RasterioIOError as exc:
        raise ToolInputError(
            f"Cannot read the overviews of scene file {href.rsplit('/', 1)[-1]}.", hint="Re-ingest the file."
        ) from exc
    with overview:
        yield overview
