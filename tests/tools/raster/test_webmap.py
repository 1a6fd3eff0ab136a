"""Web-map pictures: warped onto Web Mercator, their bounds put every pixel where it is on the ground."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS

from geovigie.tools.raster import Grid, display_grid, hex_legend, map_picture, to_web_map

R = 6_378_137.0


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    return math.radians(lon) * R, math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * R


def _marked_extent(rgba: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero((rgba[..., 0] == 255) & (rgba[..., 3] == 255))
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


@pytest.mark.parametrize("crs", ["EPSG:32630", "EPSG:4326"])
def test_a_marked_block_lands_where_it_is_on_the_ground(crs):
    if crs == "EPSG:4326":
        grid = Grid(crs=CRS.from_string(crs), transform=Affine(1e-4, 0, -0.95, 0, -1e-4, 38.1), width=300, height=200)
    else:  # two degrees off the central meridian: the UTM footprint is rotated on the map
        grid = Grid(
            crs=CRS.from_string(crs), transform=Affine(10, 0, 680_000, 0, -10, 4_220_000), width=300, height=200
        )
    image = np.full((200, 300, 3), 60, dtype=np.uint8)
    image[120:150, 200:260] = (255, 0, 0)
    out, (west, south, east, north) = to_web_map(image, grid)
    assert out.shape[2] == 4 and out[0, 0, 3] in (0, 255)
    x0, y0 = _mercator(west, north)
    x1, y1 = _mercator(east, south)
    px, py = (x1 - x0) / out.shape[1], (y0 - y1) / out.shape[0]
    left, top, right, bottom = _marked_extent(out)
    # The block's true corners, projected to Web Mercator, against the marked pixels' edges.
    to_wgs = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    corners = [
        to_wgs.transform(*(grid.transform * (c, r))) for c, r in [(200, 120), (260, 120), (260, 150), (200, 150)]
    ]
    merc = [_mercator(lon, lat) for lon, lat in corners]
    true_left, true_right = min(m[0] for m in merc), max(m[0] for m in merc)
    true_top, true_bottom = max(m[1] for m in merc), min(m[1] for m in merc)
    assert abs((x0 + left * px - true_left) / px) <= 1.0
    assert abs((x0 + right * px - true_right) / px) <= 1.0
    assert abs((y0 - top * py - true_top) / py) <= 1.0
    assert abs((y0 - bottom * py - true_bottom) / py) <= 1.0


def test_the_old_placement_on_the_wgs84_box_was_off_by_pixels():
    # Why the warp exists: a UTM picture stretched onto its WGS84 bounding box misplaces the corner block.
    grid = Grid(crs=CRS.from_epsg(32630), transform=Affine(10, 0, 680_000, 0, -10, 4_220_000), width=300, height=200)
    w, s, e, n = grid.bbox_wgs84 or (0, 0, 0, 0)
    to_wgs = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    x_w, _ = _mercator(w, s)
    x_e, _ = _mercator(e, s)
    drifts = []
    for corner in [(0, 0), (0, 200)]:  # both left corners: the rotated footprint touches the box at one only
        lon, lat = to_wgs.transform(*(grid.transform * corner))
        drifts.append((_mercator(lon, lat)[0] - x_w) / ((x_e - x_w) / 300))
    drift_px = max(drifts)
    assert drift_px > 1.5  # more than a pixel off on a 300 px picture, worse on larger scenes


def test_plain_images_stay_as_they_are_and_legends_are_hex():
    plain = Grid(crs=None, transform=Affine.identity(), width=8, height=6)
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    same, bounds = map_picture(image, plain)
    assert same is image and bounds is None
    with pytest.raises(ValueError):
        to_web_map(image, plain)
    assert hex_legend([("new water", (0, 114, 178))]) == [("new water", "#0072b2")]
    small = display_grid(Grid(crs=CRS.from_epsg(32631), transform=Affine(10, 0, 0, 0, -10, 0), width=1000,
                              height=500), (250, 500))  # fmt: skip
    assert small.transform.a == 20 and small.transform.e == -20 and small.shape == (250, 500)
