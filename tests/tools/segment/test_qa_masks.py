"""Cloud and shadow from Sentinel-2 SCL and Landsat QA_PIXEL class maps."""

from __future__ import annotations

from typing import Any

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from geovigie.tools.raster import Grid, RasterData, Scene
from geovigie.tools.segment.cloud import cloud_mask


def _raster(name: str, values: np.ndarray) -> RasterData:
    item: dict[str, Any] = {"id": "x", "properties": {}, "assets": {name: {"href": "/x.tif", "roles": ["data"]}}}
    grid = Grid(crs=CRS.from_epsg(32630), transform=Affine(20, 0, 0, 0, -20, 0), width=values.shape[1],
                height=values.shape[0])  # fmt: skip
    return RasterData(data=values[None].astype(np.float32), band_names=[name], grid=grid, scene=Scene(item))


def test_scl_masks_cloud_shadow_and_cirrus_only() -> None:
    scl = np.array([[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]], np.float32)
    scl[0, 0] = np.nan  # no data
    mask, method = cloud_mask(_raster("scl", scl))
    assert method.index == "scl" and not method.approximate
    assert mask.tolist() == [[False, False, False, True, False, False], [False, False, True, True, True, False]]


def test_qa_pixel_bits() -> None:
    clear = 21824  # Landsat 8 C2 "clear, low confidence cloud" value
    values = np.array([[clear, 1 << 3 | 1, 1 << 4, 1 << 1, 1 << 2, 1 << 6]], np.float32)
    mask, method = cloud_mask(_raster("qa_pixel", values))
    assert method.index == "qa_pixel"
    assert mask.tolist() == [[False, True, True, True, True, False]]
