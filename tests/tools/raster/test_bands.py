"""Band metadata of real-shaped Earth Search v1 and Planetary Computer items (tests/fixtures/stac_replica)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from geovigie.tools.raster import Scene

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stac_replica"


def _item(name: str) -> dict[str, Any]:
    item: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return item


def test_planetary_computer_red_edge_bands_keep_their_identity() -> None:
    scene = Scene(_item("planetary_computer_sentinel-2-l2a.json"))
    # PC labels B05, B06, B07 and B8A all common_name "rededge": the band id decides
    assert scene.require_band("rededge2").name == "B06"
    assert scene.require_band("rededge3").name == "B07"
    assert scene.require_band("nir08").name == "B8A"
    assert scene.require_band("rededge1").name == "B05"
    names = scene.band_names()
    assert len(names) == len(set(names))
    assert {"aot", "wvp", "visual", "scl"}.isdisjoint(names) and scene.require_band("scl").is_class


def test_earth_search_assets_chosen_by_metadata() -> None:
    scene = Scene(_item("earth_search_v1_sentinel-2-l2a.json"))
    red = scene.require_band("red")
    assert red.href.endswith("/B04.tif") and red.scale == 0.0001 and red.offset == -0.1 and red.nodata == 0
    assert scene.require_band("B8A").asset == "nir08" and scene.require_band("rededge2").asset == "rededge2"
    assert all(not b.href.startswith("s3://") and not b.href.endswith(".jp2") for b in scene.bands())
    assert scene.find_band("aot") is None and scene.find_band("wvp") is None
    scl = scene.require_band("scl")
    assert scl.is_class and scl.gsd == 20
    assert len(scene.band_names()) == 12  # the 12 reflectance bands, each once (SCL is a class map)


def test_pixel_size_comes_from_the_assets_when_the_item_has_none() -> None:
    pc = _item("planetary_computer_sentinel-2-l2a.json")
    assert "gsd" not in pc["properties"]
    assert Scene(pc).gsd == 10.0
    es = _item("earth_search_v1_sentinel-2-l2a.json")
    for asset in es["assets"].values():
        asset.pop("gsd", None)
        for band in asset.get("raster:bands", []):
            band.pop("spatial_resolution", None)
    scene = Scene(es)
    assert scene.gsd == 10.0  # from proj:transform
    assert scene.require_band("swir16").gsd == 20.0
