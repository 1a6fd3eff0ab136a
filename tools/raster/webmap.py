"""Pictures for a web map: warp a rendered image onto a Web Mercator grid and record its exact bounds.

Leaflet (and every XYZ web map) places an image by two corners and stretches it linearly in Web Mercator
(EPSG:3857). An image in UTM or in degrees placed on its WGS84 bounding box is therefore misregistered: the
box of a rotated UTM footprint is larger than the image, and degrees are not linear in Mercator. Warping the
picture onto an EPSG:3857 grid makes the image's pixel edges fall exactly on the bounds the map is given, so
vectors (GeoJSON in EPSG:4326, projected by the map itself) line up with it to the pixel.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject

from geovigie.core.domain import BBox
from geovigie.tools.raster.grid import Grid

WEB_MERCATOR = CRS.from_epsg(3857)
EARTH_RADIUS_M = 6_378_137.0
"""Sphere radius of EPSG:3857."""
MAX_MERCATOR_LAT = 85.05112878
"""Web Mercator is undefined at the poles: footprints are clipped to this latitude."""


def display_grid(grid: Grid, shape: tuple[int, int]) -> Grid:
    """The grid of a picture of ``grid``'s extent rendered at ``shape`` (height, width), e.g. after decimation."""
    height, width = shape
    scale = Affine.scale(grid.width / max(1, width), grid.height / max(1, height))
    return Grid(crs=grid.crs, transform=grid.transform * scale, width=width, height=height)


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """EPSG:3857 metres to (longitude, latitude) in degrees (closed form: no densification needed)."""
    lon = math.degrees(x / EARTH_RADIUS_M)
    lat = math.degrees(math.atan(math.sinh(y / EARTH_RADIUS_M)))
    return lon, lat


def to_web_map(
    image: np.ndarray, grid: Grid, *, resampling: Resampling = Resampling.nearest
) -> tuple[np.ndarray, BBox]:
    """Warp a picture of ``grid`` onto Web Mercator; returns (RGBA uint8, exact WGS84 bounds of its pixel edges).

    Args:
        image: (H, W, 3|4) uint8 picture covering ``grid``'s extent (any resolution: it is rescaled to the grid).
        grid: The georeferenced grid the picture shows (``grid.crs`` must be set).
        resampling: Nearest keeps class colours and box outlines crisp; bilinear suits photographs.

    Returns:
        The warped picture (transparent outside the footprint) and (west, south, east, north) in degrees such
        that its outer pixel edges lie exactly on those bounds in EPSG:3857.

    Raises:
        ValueError: if the grid is not georeferenced.
    """
    if grid.crs is None:
        raise ValueError("a picture without a CRS cannot be placed on a web map")
    src = display_grid(grid, image.shape[:2])
    rgba = (
        image
        if image.shape[2] == 4
        else np.concatenate([image[..., :3], np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    )
    left, bottom, right, top = src.bounds
    transform, width, height = calculate_default_transform(
        src.crs, WEB_MERCATOR, src.width, src.height, left=left, bottom=bottom, right=right, top=top
    )
    assert transform is not None and width is not None and height is not None  # given a CRS and bounds
    out = np.zeros((4, height, width), dtype=np.uint8)
    reproject(
        np.moveaxis(rgba, 2, 0),
        out,
        src_transform=src.transform,
        src_crs=src.crs,
        dst_transform=transform,
        dst_crs=WEB_MERCATOR,
        resampling=resampling,
        src_nodata=None,
        dst_nodata=0,
    )
    x0, y0 = transform * (0, 0)
    x1, y1 = transform * (width, height)
    west, north = mercator_to_lonlat(x0, y0)
    east, south = mercator_to_lonlat(x1, y1)
    return np.ascontiguousarray(np.moveaxis(out, 0, 2)), (west, south, east, north)


def map_picture(
    image: np.ndarray, grid: Grid, *, resampling: Resampling = Resampling.nearest
) -> tuple[np.ndarray, BBox | None]:
    """The picture to store for the map: warped with its exact bounds when georeferenced, else as it is (no bbox)."""
    if grid.crs is None:
        return image, None
    return to_web_map(image, grid, resampling=resampling)


def hex_legend(entries: list[tuple[str, tuple[int, int, int]]]) -> list[tuple[str, str]]:
    """A colour key with RGB triples as (label, ``#rrggbb``) pairs, as artifacts carry it."""
    return [(label, "#{:02x}{:02x}{:02x}".format(*colour)) for label, colour in entries]
