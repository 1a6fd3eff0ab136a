import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.read import RasterData
from geovigie.tools.raster.scene import SENTINEL2_BANDS, Scene
from geovigie.tools.segment.cloud import can_use_s2cloudless, cloud_mask, cloud_probability
from geovigie.tools.segment.masks import S2CLOUDLESS_BANDS

# TOA reflectance of a thick cloud and of vegetation, Sentinel-2 L1C bands in s2cloudless order.
CLOUD_S2 = dict(zip(S2CLOUDLESS_BANDS, [0.45, 0.45, 0.45, 0.47, 0.50, 0.50, 0.20, 0.05, 0.35, 0.25], strict=True))
VEG_S2 = dict(zip(S2CLOUDLESS_BANDS, [0.12, 0.09, 0.05, 0.10, 0.35, 0.38, 0.10, 0.002, 0.18, 0.08], strict=True))


def raster_of(bands, *, scale=1e-4, pixel=10.0):
    names = list(bands)
    entries = [{"name": n, "common_name": SENTINEL2_BANDS[n][0] if n in SENTINEL2_BANDS else n} for n in names]
    props = {"datetime": "2020-06-01T00:00:00Z"}
    if scale is not None:
        props["geovigie:scale"] = scale
    scene = Scene({"id": "c", "properties": props, "assets": {"d": {"href": "mem.tif", "eo:bands": entries}}})
    h, w = next(iter(bands.values())).shape
    grid = Grid(CRS.from_epsg(32631), Affine(pixel, 0, 500_000, 0, -pixel, 4_800_000), w, h)
    data = np.stack([np.asarray(bands[n], np.float32) for n in names])
    return RasterData(data=data, band_names=names, grid=grid, scene=scene)


def left_right(left, right, shape, split):
    out = {}
    for name in left:
        arr = np.full(shape, right[name], np.float32)
        arr[:, :split] = left[name]
        out[name] = arr
    return out


def test_s2cloudless_finds_a_synthetic_cloud():
    raster = raster_of(left_right(CLOUD_S2, VEG_S2, (120, 240), 120))
    assert can_use_s2cloudless(raster)
    prob = cloud_probability(raster)
    assert prob.shape == (120, 240)
    assert prob[:, :100].mean() > 0.8 and prob[:, 140:].mean() < 0.2
    mask, method = cloud_mask(raster)
    assert method.index == "s2cloudless" and not method.approximate
    assert 55 <= method.extra["grid_m"] <= 65
    # ~60 m blocks and a 1-block dilation blur the edge by at most ~2 blocks (12 px at 10 m).
    assert mask[:, :108].all() and not mask[:, 132:].any()


def test_s2cloudless_needs_reflectance_and_all_bands():
    no_b10 = {k: v for k, v in left_right(CLOUD_S2, VEG_S2, (12, 12), 6).items() if k != "B10"}
    assert not can_use_s2cloudless(raster_of(no_b10))
    assert not can_use_s2cloudless(raster_of(left_right(CLOUD_S2, VEG_S2, (12, 12), 6), scale=None))
    with pytest.raises(ToolInputError):
        cloud_probability(raster_of(no_b10))


FOUR_CLOUD = {"blue": 0.45, "green": 0.45, "red": 0.44, "nir": 0.48, "swir16": 0.35}
FOUR_LAND = {"blue": 0.05, "green": 0.08, "red": 0.05, "nir": 0.35, "swir16": 0.2}
SNOW = {"blue": 0.8, "green": 0.8, "red": 0.78, "nir": 0.7, "swir16": 0.1}


def test_threshold_fallback_on_four_band_reflectance():
    raster = raster_of(left_right(FOUR_CLOUD, FOUR_LAND, (80, 80), 40))
    mask, method = cloud_mask(raster)
    assert method.index == "cloud_thresholds" and method.approximate
    assert mask[:, :40].all() and not mask[:, 40:].any()
    assert method.extra["grid_m"] == 40.0


def test_fallback_rejects_snow_and_skips_invalid_pixels():
    raster = raster_of(left_right(SNOW, FOUR_CLOUD, (40, 40), 20))
    raster.data[:, :4] = np.nan
    mask, _ = cloud_mask(raster)
    assert not mask[:, :20].any() and mask[4:, 20:].all() and not mask[:4].any()


def test_fallback_on_8bit_rgb_only_calls_saturated_grey_cloud():
    rgb = {"red": np.full((40, 40), 90.0), "green": np.full((40, 40), 110.0), "blue": np.full((40, 40), 70.0)}
    for band in rgb.values():
        band[:20] = 250.0
    mask, method = cloud_mask(raster_of(rgb, scale=None))
    assert "near-saturated" in method.description
    assert mask[:20].all() and not mask[20:].any()


def test_cloud_mask_needs_green_and_red():
    with pytest.raises(ToolInputError, match="green and red"):
        cloud_mask(raster_of({"nir": np.ones((4, 4))}))
