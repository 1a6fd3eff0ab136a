"""Band metadata of genuine Earth Search v1, Planetary Computer, USGS Landsat and CDSE items (fixtures README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geovigie.tools.raster import Scene

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stac_replica"
ES_ITEM = "earth_search_v1_sentinel-2-l2a_S2A_39QTA_20230628_0_L2A.json"
"""Genuine Earth Search v1 item (see the fixtures README)."""
PC_ITEM = "planetary_computer_sentinel-2-l2a_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
"""Genuine Planetary Computer item (baseline 02.12, no raster:bands)."""


def _item(name: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return item


def test_planetary_computer_red_edge_bands_keep_their_identity() -> None:
    scene = Scene(_item(PC_ITEM))
    # PC labels B05, B06, B07 and B8A all common_name "rededge": the band id decides
    assert scene.require_band("rededge2").name == "B06"
    assert scene.require_band("rededge3").name == "B07"
    assert scene.require_band("nir08").name == "B8A"
    assert scene.require_band("rededge1").name == "B05"
    names = scene.band_names()
    assert len(names) == len(set(names))
    assert {"aot", "wvp", "visual", "scl"}.isdisjoint(names) and scene.require_band("scl").is_class


def test_earth_search_assets_chosen_by_metadata() -> None:
    scene = Scene(_item(ES_ITEM))
    red = scene.require_band("red")
    assert red.href.endswith("/B04.tif") and red.scale == 0.0001 and red.offset == -0.1 and red.nodata == 0
    assert scene.require_band("B8A").asset == "nir08" and scene.require_band("rededge2").asset == "rededge2"
    assert all(not b.href.startswith("s3://") and not b.href.endswith(".jp2") for b in scene.bands())
    assert scene.find_band("aot") is None and scene.find_band("wvp") is None
    scl = scene.require_band("scl")
    assert scl.is_class and scl.gsd == 20
    assert len(scene.band_names()) == 12  # the 12 reflectance bands, each once (SCL is a class map)


def test_pixel_size_comes_from_the_assets_when_the_item_has_none() -> None:
    pc = _item(PC_ITEM)
    assert "gsd" not in pc["properties"]
    assert Scene(pc).gsd == 10.0
    es = _item(ES_ITEM)
    for asset in es["assets"].values():
        asset.pop("gsd", None)
        for band in asset.get("raster:bands", []):
            band.pop("spatial_resolution", None)
    scene = Scene(es)
    assert scene.gsd == 10.0  # from proj:transform
    assert scene.require_band("swir16").gsd == 20.0


LANDSAT_ITEM = "usgs_landsat-c2l2-sr_LC08_L2SP_028030_20200114_20200824_02_T1_SR.json"
"""Genuine USGS LandsatLook Collection 2 Level-2 item: ``eo:bands`` named B1...B7, ``proj:*`` on the item only."""
CDSE_ITEM = "cdse_sentinel-2-l2a_S2C_MSIL2A_20250330T100051_N0511_R122_T33UWP_20250330T145914.json"
"""Genuine Copernicus Data Space STAC 1.1 item: ``bands``, asset-level ``raster:scale``, ``SCL_20m``-style keys."""


def test_landsat_band_ids_are_not_read_as_sentinel2_ids() -> None:
    # USGS names OLI band 5 (NIR) "B5": read as Sentinel-2's B05 it would become red edge 1
    scene = Scene(_item(LANDSAT_ITEM))
    assert scene.band_names() == ["coastal", "blue", "green", "red", "nir08", "swir16", "swir22"]
    assert scene.require_band("nir08").href.endswith("_SR_B5.TIF")
    assert scene.require_band("nir").href.endswith("_SR_B5.TIF")  # OLI's only NIR band serves as "nir"
    assert scene.find_band("rededge1") is None and scene.find_band("B05") is None


def test_item_level_projection_gives_the_pixel_size() -> None:
    scene = Scene(_item(LANDSAT_ITEM))
    qa = scene.require_band("qa_pixel")  # no gsd, eo:bands or proj:* on the asset: the item's proj:transform
    assert qa.is_class and qa.gsd == 30.0


def test_stac_1_1_items_resolution_suffixed_keys_archives_and_raster_fields() -> None:
    item = _item(CDSE_ITEM)
    # as published every band is a JP2 on s3:// (its https alternate needs a login): nothing is readable
    assert Scene(item).bands() == []
    for asset in item["assets"].values():  # the same item served as COGs over https
        if str(asset.get("href", "")).startswith("s3://"):
            asset["href"] = asset["alternate"]["https"]["href"] + ".tif"
            asset["type"] = "image/tiff; application=geotiff; profile=cloud-optimized"
    scene = Scene(item)
    red = scene.require_band("red")
    assert red.asset == "B04_10m" and red.gsd == 10.0  # the finest of B04_10m / B04_20m / B04_60m
    assert (red.scale, red.offset, red.nodata, red.data_type) == (0.0001, -0.1, 0.0, "uint16")  # raster v2 fields
    scl = scene.require_band("scl")
    assert scl.is_class and scl.asset == "SCL_20m"
    assert scene.find_band("aot") is None and scene.find_band("product") is None  # AOT_10m, zipped "Product"
    assert not any(b.asset.startswith(("TCI", "AOT", "WVP", "Product")) for b in scene.bands())
    assert len(scene.band_names()) == 12


def test_earth_search_class_map_and_by_products_declared_as_reflectance_stay_out() -> None:
    item = _item(ES_ITEM)
    assert "reflectance" in item["assets"]["scl"]["roles"] and "reflectance" in item["assets"]["aot"]["roles"]
    scene = Scene(item)
    assert scene.require_band("scl").is_class and "scl" not in scene.band_names()
    assert {b.asset for b in scene.bands()}.isdisjoint({"aot", "wvp", "visual", "thumbnail", "scl-jp2"})


def test_planetary_computer_previews_and_tile_links_are_not_bands() -> None:
    item = _item(PC_ITEM)
    assert "cloud-optimized" in item["assets"]["preview"]["type"]  # a COG, but a preview
    assert {b.asset for b in Scene(item).bands()}.isdisjoint({"preview", "tilejson", "rendered_preview", "visual"})
