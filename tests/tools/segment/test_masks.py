import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.read import RasterData
from geovigie.tools.raster.scene import SENTINEL2_BANDS, Scene
from geovigie.tools.segment.masks import (
    S2CLOUDLESS_BANDS,
    band_of,
    bands_for,
    built_up_mask,
    excess_green,
    merge_bands,
    otsu_threshold,
    vegetation_mask,
    water_mask,
)

RNG = np.random.default_rng(42)


def make_scene(names, *, scale=1e-4, item_id="s"):
    bands = []
    for n in names:
        common = SENTINEL2_BANDS[n][0] if n in SENTINEL2_BANDS else n
        bands.append({"name": n, "common_name": common})
    props = {"datetime": "2020-06-01T00:00:00Z"}
    if scale is not None:
        props["geovigie:scale"] = scale
    return Scene({"id": item_id, "properties": props, "assets": {"d": {"href": "mem.tif", "eo:bands": bands}}})


def make_raster(bands: dict[str, np.ndarray], *, scale=1e-4) -> RasterData:
    names = list(bands)
    h, w = next(iter(bands.values())).shape
    grid = Grid(crs=CRS.from_epsg(32631), transform=Affine(10, 0, 500_000, 0, -10, 4_800_000), width=w, height=h)
    data = np.stack([bands[n].astype(np.float32) for n in names])
    return RasterData(data=data, band_names=names, grid=grid, scene=make_scene(names, scale=scale))


def halves(left, right, shape=(60, 80), noise=0.005):
    """One band per key: left half value, right half value, plus a little noise."""
    out = {}
    for name in left:
        arr = np.full(shape, right[name], np.float32)
        arr[:, : shape[1] // 2] = left[name]
        out[name] = np.clip(arr + RNG.normal(0, noise, shape).astype(np.float32), 0.001, None)
    return out


WATER = {"blue": 0.08, "green": 0.07, "red": 0.03, "nir": 0.02, "swir16": 0.015}
MEADOW = {"blue": 0.05, "green": 0.08, "red": 0.05, "nir": 0.35, "swir16": 0.22}
CITY = {"blue": 0.12, "green": 0.13, "red": 0.15, "nir": 0.18, "swir16": 0.26}


def test_water_left_half_mndwi_with_otsu_threshold():
    raster = make_raster(halves(WATER, MEADOW))
    mask, method = water_mask(raster)
    assert abs(mask.mean() - 0.5) < 0.01
    assert mask[:, :40].all() and not mask[:, 40:].any()
    assert method.index == "mndwi" and method.bands == ("green", "swir16")
    assert method.threshold is not None and -0.1 <= method.threshold <= 0.4
    assert method.threshold_source in ("otsu", "otsu_clamped")
    assert not method.approximate


def test_water_falls_back_to_ndwi_without_swir_and_honours_overrides():
    bands = {k: v for k, v in halves(WATER, MEADOW).items() if k != "swir16"}
    raster = make_raster(bands)
    mask, method = water_mask(raster)
    assert method.index == "ndwi" and abs(mask.mean() - 0.5) < 0.01
    mask, method = water_mask(raster, threshold=0.99)
    assert method.threshold_source == "user" and method.threshold == 0.99 and not mask.any()
    with pytest.raises(ToolInputError):
        water_mask(raster, index="mndwi")
    with pytest.raises(ToolInputError):
        water_mask(raster, index="ndvi")


def test_unimodal_histogram_uses_fixed_threshold():
    raster = make_raster(halves(MEADOW, MEADOW, noise=0.01))
    mask, method = water_mask(raster)
    assert method.threshold_source == "fixed_unimodal" and method.threshold == 0.0
    assert not mask.any()


def test_otsu_split_of_two_land_covers_is_rejected_not_clamped():
    forest = {"green": 0.05, "swir16": 0.10}
    field = {"green": 0.06, "swir16": 0.25}
    mask, method = water_mask(make_raster(halves(forest, field)))
    assert method.threshold_source == "fixed_otsu_out_of_range" and not mask.any()


def test_otsu_threshold_bimodal_and_unimodal():
    two = np.concatenate([RNG.normal(-0.4, 0.05, 5000), RNG.normal(0.4, 0.05, 2000)])
    t, bimodal = otsu_threshold(two)
    assert bimodal and -0.2 < t < 0.2
    t, bimodal = otsu_threshold(RNG.normal(0.0, 0.1, 8000))
    assert not bimodal
    t, bimodal = otsu_threshold(np.array([np.nan, 1.0]))
    assert np.isnan(t) and not bimodal


def test_invalid_pixels_never_in_masks():
    bands = halves(WATER, MEADOW)
    bands["green"][:10] = np.nan
    mask, _ = water_mask(make_raster(bands))
    assert not mask[:10].any() and mask[10:, :40].all()


def test_rgb_water_is_approximate():
    bands = {k: v for k, v in halves(WATER, CITY).items() if k in ("red", "green", "blue")}
    mask, method = water_mask(make_raster(bands))
    assert method.approximate and method.index == "rgb_dark_blue"
    assert mask[:, :40].mean() > 0.9 and mask[:, 40:].mean() < 0.1


def test_vegetation_ndvi_and_excess_green():
    raster = make_raster(halves(MEADOW, CITY))
    mask, method = vegetation_mask(raster)
    assert method.index == "ndvi" and abs(mask.mean() - 0.5) < 0.01
    assert method.threshold is not None and 0.2 <= method.threshold <= 0.5
    rgb = make_raster({k: v for k, v in halves(MEADOW, CITY).items() if k in ("red", "green", "blue")})
    mask, method = vegetation_mask(rgb)
    assert method.approximate and method.index == "excess_green"
    assert mask[:, :40].mean() > 0.95 and mask[:, 40:].mean() < 0.05
    assert excess_green(rgb)[:, :40].mean() > excess_green(rgb)[:, 40:].mean()


def test_built_up_needs_swir_and_excludes_water_and_vegetation():
    raster = make_raster(halves(CITY, MEADOW))
    mask, method = built_up_mask(raster)
    assert abs(mask.mean() - 0.5) < 0.01 and method.extra["ndvi_max"] == 0.2
    water_city = make_raster(halves(WATER, CITY))
    assert not built_up_mask(water_city)[0][:, :40].any()
    rgb = make_raster({k: v for k, v in halves(CITY, MEADOW).items() if k in ("red", "green", "blue")})
    with pytest.raises(ToolInputError, match="swir16"):
        built_up_mask(rgb)


def test_bands_for_choices_and_errors():
    s2 = make_scene(list(SENTINEL2_BANDS))
    assert bands_for("water", s2) == ["green", "swir16"]
    assert bands_for("cloud", s2) == list(S2CLOUDLESS_BANDS)
    four = make_scene(["red", "green", "blue", "nir"])
    assert bands_for("water", four) == ["green", "nir"]
    assert bands_for("cloud", four) == ["blue", "green", "red", "nir"]
    rgb = make_scene(["red", "green", "blue"], scale=None)
    assert bands_for("vegetation", rgb) == ["red", "green", "blue"]
    with pytest.raises(ToolInputError, match="missing: swir16, nir"):
        bands_for("built_up", rgb)
    with pytest.raises(ToolInputError, match="Unknown target"):
        bands_for("snow", rgb)


def test_merge_bands_dedups_aliases_and_band_of_resolves_them():
    s2 = make_scene(list(SENTINEL2_BANDS))
    merged = merge_bands(s2, ["green", "swir16"], list(S2CLOUDLESS_BANDS))
    assert "B11" not in merged and merged.count("swir16") == 1 and len(merged) == 11
    arrays = {n: np.full((2, 2), i, np.float32) for i, n in enumerate(merged)}
    grid = Grid(crs=None, transform=Affine.identity(), width=2, height=2)
    raster = RasterData(data=np.stack(list(arrays.values())), band_names=merged, grid=grid, scene=s2)
    assert band_of(raster, "B11")[0, 0] == merged.index("swir16")
    assert band_of(raster, "nir")[0, 0] == merged.index("B08")
    with pytest.raises(ToolInputError):
        band_of(raster, "B06")


def sar_halves(left_vv, right_vv, *, offset_vh=-7.0, shape=(60, 80), noise=1.5, seed=3):
    """VV and VH in dB: left half around ``left_vv``, right half around ``right_vv``, Gaussian speckle-like noise."""
    rng = np.random.default_rng(seed)
    vv = np.full(shape, right_vv, np.float32)
    vv[:, : shape[1] // 2] = left_vv
    vv += rng.normal(0, noise, shape).astype(np.float32)
    vh = vv + offset_vh + rng.normal(0, noise, shape).astype(np.float32)
    return {"vv": vv, "vh": vh}


def test_sar_water_is_low_vv_backscatter_with_otsu_and_vh_agreement():
    raster = make_raster(sar_halves(-22.0, -8.0), scale=None)
    mask, method = water_mask(raster)
    assert method.index == "sar_vv" and method.threshold_source in ("otsu", "otsu_clamped")
    assert method.threshold is not None and -24 <= method.threshold <= -12 and method.bands == ("vv", "vh")
    assert -30 <= method.extra["vh_threshold_db"] <= -18
    assert "SAR VV backscatter <" in method.description and "tarmac" in method.description
    assert mask[:, :40].mean() > 0.98 and mask[:, 40:].mean() < 0.02
    # A user threshold is a VV value in dB and is used alone.
    mask, method = water_mask(raster, threshold=-30.0)
    assert method.threshold_source == "user" and method.bands == ("vv",) and mask.mean() < 0.05
    with pytest.raises(ToolInputError, match="dB"):
        water_mask(raster, threshold=0.3)


def test_sar_without_water_falls_back_to_fixed_threshold():
    raster = make_raster({"vv": sar_halves(-9.0, -8.0)["vv"]}, scale=None)
    mask, method = water_mask(raster)
    assert method.threshold == -18.0 and method.threshold_source.startswith("fixed") and method.bands == ("vv",)
    assert mask.mean() < 0.01


def test_bands_for_sar_scene_maps_water_only():
    sar = make_scene(["vv", "vh"], scale=None)
    assert bands_for("water", sar) == ["vv", "vh"]
    assert bands_for("water", make_scene(["vv"], scale=None)) == ["vv"]
    for target, missing in (("vegetation", "red, nir"), ("built_up", "swir16, nir, red"), ("cloud", "green, red")):
        with pytest.raises(ToolInputError, match=f"missing: {missing}") as info:
            bands_for(target, sar)
        assert "radar" in (info.value.hint or "")
