"""Masking a projected grid to a lon/lat box: what "the area of the box" means on a UTM scene.

A box in EPSG:4326 is a curved quadrilateral in UTM; the pixel window that contains it holds a few percent more
ground (about 7 % at mid latitudes for a city-sized box). Pixels whose centre falls outside the box, densified
and transformed into the grid's CRS, are set to no data so that areas and shares match the box asked for.
"""

from __future__ import annotations

import numpy as np
from rasterio.features import geometry_mask
from rasterio.warp import transform_geom
from shapely.geometry import box, mapping

from geovigie.tools.raster.grid import Grid


def outside_aoi(grid: Grid) -> np.ndarray | None:
    """(H, W) True where a pixel centre lies outside ``grid.aoi``; None when nothing is outside or no AOI."""
    if grid.aoi is None or grid.crs is None or grid.crs.is_geographic:
        return None
    west, south, east, north = grid.aoi
    ring = box(west, south, east, north).segmentize(max(east - west, north - south) / 50)
    geom = transform_geom("EPSG:4326", grid.crs, mapping(ring))
    outside: np.ndarray = geometry_mask([geom], out_shape=grid.shape, transform=grid.transform, invert=False)
    return outside if outside.any() else None
