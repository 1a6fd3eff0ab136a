"""Pixel grids: the common frame onto which scenes are read, tiled and compared."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from affine import Affine
from pyproj import Geod
from rasterio.crs import CRS
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geovigie.core.domain import BBox

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (None for plain images in pixel units), affine transform and shape."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int
    aoi: BBox | None = None
    """Lon/lat box the pixels must fall in (set on projected grids cut from a box; see ``raster.aoi``)."""

    def with_aoi(self, aoi: BBox | None) -> Grid:
        """The same grid, masked to ``aoi`` when read."""
        return Grid(crs=self.crs, transform=self.transform, width=self.width, height=self.height, aoi=aoi)

    def at_most(self, max_side: int) -> Grid:
        """The same extent with coarser pixels, so that the longer side is at most ``max_side`` pixels.

        Reading onto it lets GDAL use overviews or decimate, which keeps displays of large scenes cheap; figures
        measured on it are approximate. The grid itself is returned when it is already small enough.
        """
        side = max(self.width, self.height)
        if side <= max_side:
            return self
        factor = side / max_side
        return Grid(
            crs=self.crs,
            transform=self.transform @ Affine.scale(factor),
            width=max(1, round(self.width / factor)),
            height=max(1, round(self.height / factor)),
            aoi=self.aoi,
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        left, top = self.transform @ (0, 0)
        right, bottom = self.transform @ (self.width, self.height)
        return (min(left, right), min(bottom, top), max(left, right), max(bottom, top))

    @property
    def bbox_wgs84(self) -> BBox | None:
        """Footprint in EPSG:4326, or None when not georeferenced."""
        if self.crs is None:
            return None
        w, s, e, n = transform_bounds(self.crs, "EPSG:4326", *self.bounds, densify_pts=21)
        return (float(w), float(s), float(e), float(n))

    @property
    def pixel_size_m(self) -> float | None:
        """Ground pixel size in metres (geodesic for geographic CRSs), None when not georeferenced."""
        if self.crs is None:
            return None
        if self.crs.is_geographic:
            cx, cy = self.transform @ (self.width / 2, self.height / 2)
            _, _, dx = _GEOD.inv(cx, cy, cx + self.transform.a, cy)
            _, _, dy = _GEOD.inv(cx, cy, cx, cy + self.transform.e)
            return float(math.sqrt(abs(dx * dy)))
        factor = self.crs.linear_units_factor[1] if self.crs.linear_units_factor else 1.0
        return float(math.sqrt(abs(self.transform.a * self.transform.e)) * factor)

    def pixel_area_m2(self) -> float | None:
        """Area of one pixel in square metres (at the grid centre), None when not georeferenced."""
        size = self.pixel_size_m
        return size * size if size is not None else None

    @property
    def crs_string(self) -> str | None:
        """CRS as 'EPSG:XXXX' (or WKT when there is no EPSG code)."""
        if self.crs is None:
            return None
        epsg = self.crs.to_epsg()
        return f"EPSG:{epsg}" if epsg else self.crs.to_wkt()

    def subgrid(self, window: Window) -> Grid:
        """The grid of a window of this grid."""
        col_off, row_off = int(window.col_off), int(window.row_off)
        return Grid(
            crs=self.crs,
            transform=self.transform @ Affine.translation(col_off, row_off),
            width=int(window.width),
            height=int(window.height),
            aoi=self.aoi,
        )


@dataclass(frozen=True)
class Tile:
    """One tile: the read window (with overlap) and the core window it is responsible for."""

    read: Window
    core: Window

    def core_slices(self) -> tuple[slice, slice]:
        """Slices of the core inside an array read with ``read``."""
        r0 = int(self.core.row_off - self.read.row_off)
        c0 = int(self.core.col_off - self.read.col_off)
        return (slice(r0, r0 + int(self.core.height)), slice(c0, c0 + int(self.core.width)))


def iter_tiles(grid: Grid, *, tile_size: int, overlap: int) -> Iterator[Tile]:
    """Split a grid into overlapping tiles; the cores partition the grid exactly.

    Args:
        grid: The grid to split.
        tile_size: Core tile edge in pixels.
        overlap: Extra pixels read on each side (clipped at the grid edge) so that neighbourhood
            operations (filters, morphology) see context and stitched results show no seams.
    """
    for row in range(0, grid.height, tile_size):
        for col in range(0, grid.width, tile_size):
            core_h = min(tile_size, grid.height - row)
            core_w = min(tile_size, grid.width - col)
            r0, c0 = max(0, row - overlap), max(0, col - overlap)
            r1 = min(grid.height, row + core_h + overlap)
            c1 = min(grid.width, col + core_w + overlap)
            yield Tile(read=Window(c0, r0, c1 - c0, r1 - r0), core=Window(col, row, core_w, core_h))


def tile_count(grid: Grid, *, tile_size: int) -> int:
    """Number of tiles ``iter_tiles`` yields."""
    return math.ceil(grid.height / tile_size) * math.ceil(grid.width / tile_size)
