"""Scale/offset decisions: metadata, collection knowledge, known metadata faults and the pixel check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from geovigie.tools.raster import Scene
from geovigie.tools.raster.radiometry import metadata_radiometry, radiometry_of
from geovigie.tools.raster.read import read_aoi

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stac_replica"
ES_ITEM = "earth_search_v1_sentinel-2-l2a_S2A_39QTA_20230628_0_L2A.json"
"""Genuine Earth Search v1 item (see the fixtures README)."""
PC_ITEM = "planetary_computer_sentinel-2-l2a_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
"""Genuine Planetary Computer item (baseline 02.12, no raster:bands)."""


def _item(name: str, **props: Any) -> dict[str, Any]:
    item: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    item["properties"].update(props)
    item["properties"]["geovigie:source_api"] = "http://api.example"
    return item


def _cog(path: Path, values: np.ndarray) -> str:
    profile = {"driver": "GTiff", "dtype": "uint16", "count": 1, "width": values.shape[1], "height": values.shape[0],
               "crs": "EPSG:32630", "transform": Affine(10, 0, 700000, 0, -10, 5000000), "nodata": 0}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return str(path)


def test_metadata_rules() -> None:
    es_old = _item(ES_ITEM, **{"s2:processing_baseline": "03.01"})
    red = Scene(es_old).require_band("red")
    assert metadata_radiometry(es_old, red).offset == 0.0  # known wrong -0.1 before baseline 04.00
    es_new = _item(ES_ITEM, **{"earthsearch:boa_offset_applied": False})
    assert metadata_radiometry(es_new, Scene(es_new).require_band("red")).offset == -0.1
    es_harmonised = _item(ES_ITEM)  # the genuine item: boa_offset_applied true
    rad = metadata_radiometry(es_harmonised, Scene(es_harmonised).require_band("red"))
    assert rad.offset == 0.0 and "boa_offset_applied" in rad.source
    pc_old = _item(PC_ITEM)  # the genuine item: baseline 02.12
    rad = metadata_radiometry(pc_old, Scene(pc_old).require_band("red"))
    assert (rad.scale, rad.offset) == (0.0001, 0.0)
    pc_new = _item(PC_ITEM, **{"s2:processing_baseline": "05.09"})
    rad = metadata_radiometry(pc_new, Scene(pc_new).require_band("red"))
    assert (rad.scale, rad.offset) == (0.0001, -0.1)
    assert metadata_radiometry(pc_new, Scene(pc_new).require_band("scl")).scale is None


def test_pixel_check_overrides_an_offset_the_pixels_contradict(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    harmonised = rng.integers(50, 3000, (300, 300)).astype(np.uint16)  # dark water well below 1000 DN
    href = _cog(tmp_path / "b02.tif", harmonised)
    item = _item(ES_ITEM, **{"earthsearch:boa_offset_applied": False})
    item["id"] = "harmonised-already"
    scene = Scene(item)
    probe = scene.require_band("blue")
    rad = radiometry_of(item, scene.require_band("red"), probe, href)
    assert rad.offset == 0.0 and "offset not applied" in rad.source


def test_pixel_check_adds_a_missing_offset(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    shifted = rng.integers(1050, 4000, (300, 300)).astype(np.uint16)
    href = _cog(tmp_path / "b02.tif", shifted)
    item = _item(ES_ITEM)
    item["id"] = "offset-undeclared"
    for asset in item["assets"].values():
        for band in asset.get("raster:bands", []):
            band["offset"] = 0
    scene = Scene(item)
    rad = radiometry_of(item, scene.require_band("red"), scene.require_band("blue"), href)
    assert rad.offset == -0.1 and "no pixel < 1000 DN" in rad.source


def test_boa_offset_applied_is_overruled_by_pixels_that_still_carry_the_offset(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    href = _cog(tmp_path / "b02.tif", rng.integers(1100, 5000, (300, 300)).astype(np.uint16))
    item = _item(ES_ITEM)  # boa_offset_applied true, raster:bands -0.1
    item["id"] = "flag-wrong"
    scene = Scene(item)
    rad = radiometry_of(item, scene.require_band("red"), scene.require_band("blue"), href)
    assert rad.offset == -0.1 and "boa_offset_applied" in rad.source and "no pixel < 1000 DN" in rad.source


def test_landsat_collection_2_level_2() -> None:
    item: dict[str, Any] = {
        "id": "LC09_L2SP_200029_20230601_02_T1",
        "collection": "landsat-c2-l2",
        "properties": {"platform": "landsat-9", "geovigie:source_api": "http://api.example"},
        "assets": {
            "red": {"href": "https://landsatlook.usgs.gov/x_SR_B4.TIF", "roles": ["data", "reflectance"],
                    "eo:bands": [{"name": "OLI_B4", "common_name": "red"}],
                    "raster:bands": [{"scale": 2.75e-05, "offset": -0.2, "nodata": 0, "data_type": "uint16"}]},
            "nir08": {"href": "https://landsatlook.usgs.gov/x_SR_B5.TIF", "roles": ["data", "reflectance"],
                      "eo:bands": [{"name": "OLI_B5", "common_name": "nir08"}]},
            "qa_pixel": {"href": "https://landsatlook.usgs.gov/x_QA_PIXEL.TIF", "roles": ["cloud", "data"]},
        },
    }  # fmt: skip
    scene = Scene(item)
    red = metadata_radiometry(item, scene.require_band("red"))
    assert (red.scale, red.offset, red.source) == (2.75e-05, -0.2, "raster:bands")
    nir = metadata_radiometry(item, scene.require_band("nir08"))  # no raster:bands: collection knowledge
    assert (nir.scale, nir.offset) == (2.75e-05, -0.2) and "Landsat" in nir.source
    assert scene.require_band("qa_pixel").is_class and scene.scale == 2.75e-05


def test_sentinel1_rtc_linear_power_is_read_in_db(tmp_path: Path) -> None:
    linear = np.array([[0.01, 0.1], [1.0, 0.0]], np.float32)
    path = tmp_path / "vv.tif"
    profile = {"driver": "GTiff", "dtype": "float32", "count": 1, "width": 2, "height": 2, "crs": "EPSG:32630",
               "transform": Affine(10, 0, 700000, 0, -10, 5000000), "nodata": -32768}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(linear, 1)
    item: dict[str, Any] = {
        "id": "S1A_IW_GRDH_1SDV_20230601_rtc",
        "collection": "sentinel-1-rtc",
        "properties": {"platform": "SENTINEL-1A"},  # a local copy: the remote href policy is tested elsewhere
        "assets": {"vv": {"href": str(path), "roles": ["data"], "raster:bands": [{"nodata": -32768}]}},
    }  # fmt: skip
    scene = Scene(item)
    rad = metadata_radiometry(item, scene.require_band("vv"))
    assert rad.to_db and "dB" in rad.describe()
    data = read_aoi(scene, ["vv"], None).data[0]
    assert data[0, 0] == pytest.approx(-20.0) and data[0, 1] == pytest.approx(-10.0) and data[1, 0] == 0.0
    assert np.isnan(data[1, 1])


def test_stac_1_1_processing_version_is_the_baseline() -> None:
    """Copernicus Data Space items give the baseline as ``processing:version`` only (no ``s2:*``)."""
    item = _item(PC_ITEM, **{"processing:version": "05.11"})
    del item["properties"]["s2:processing_baseline"]
    rad = metadata_radiometry(item, Scene(item).require_band("red"))
    assert (rad.scale, rad.offset) == (0.0001, -0.1) and "baseline 05.11" in rad.source


def test_genuine_usgs_landsat_item_gets_collection_2_knowledge() -> None:
    """USGS items give no ``raster:bands``, platform ``LANDSAT_8`` and collection ``landsat-c2l2-sr``."""
    item = _item("usgs_landsat-c2l2-sr_LC08_L2SP_028030_20200114_20200824_02_T1_SR.json")
    scene = Scene(item)
    for name in ("blue", "green", "red", "nir08", "swir16", "swir22"):
        rad = metadata_radiometry(item, scene.require_band(name))
        assert (rad.scale, rad.offset) == (2.75e-05, -0.2) and "Landsat" in rad.source, name
    assert metadata_radiometry(item, scene.require_band("qa_pixel")).scale is None
