"""Remote items: namespaced ids, asset host allow-list, never written over local items (issue 13, finding 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from affine import Affine

from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.hosts import RemoteApi, namespaced_id
from geovigie.tools.catalog.remote import RemoteResult, cache_items
from geovigie.tools.catalog.store import get_scene, source_of, upsert_item
from geovigie.tools.raster import Grid, Scene, read_bands

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stac_replica"
ES_ITEM = "earth_search_v1_sentinel-2-l2a_S2A_39QTA_20230628_0_L2A.json"
"""Genuine Earth Search v1 item (see the fixtures README)."""
API = "http://127.0.0.1:9/stac"


def _es_item() -> dict[str, Any]:
    return json.loads((FIXTURES / ES_ITEM).read_text())


def test_earth_search_assets_on_their_buckets_are_kept_and_mirrors_dropped() -> None:
    api = RemoteApi(url="https://earth-search.aws.element84.com/v1")
    item = api.adopt(_es_item())
    assert item["id"] == "earth-search.aws.element84.com/sentinel-2-l2a/S2A_39QTA_20230628_0_L2A"
    assert "blue" in item["assets"] and "scl" in item["assets"]
    assert not any(k.endswith("-jp2") for k in item["assets"])  # s3:// mirrors cannot be read
    props = item["properties"]
    assert props["geovigie:remote_id"] == "S2A_39QTA_20230628_0_L2A"
    assert props["geovigie:self_link"].endswith("/collections/sentinel-2-l2a/items/S2A_39QTA_20230628_0_L2A")
    assert any("blue-jp2" in n for n in props["geovigie:notes"])


@pytest.mark.parametrize(
    "href",
    [
        "file:///etc/passwd",
        "/etc/passwd",
        "../../secret.tif",
        "http://169.254.169.254/latest/meta-data/B04.tif",
        "http://127.0.0.1:8000/v1/artifacts/x.tif",
        "https://sentinel-cogs.s3.us-west-2.amazonaws.com.evil.example/B04.tif",
        "gopher://127.0.0.1:25/x.tif",
    ],
)
def test_hostile_hrefs_are_never_kept(href: str) -> None:
    raw = _es_item()
    raw["assets"]["red"]["href"] = href
    item = RemoteApi(url="https://earth-search.aws.element84.com/v1").adopt(raw)
    assert "red" not in item["assets"]
    assert not Scene(item).has_bands("red")


def test_read_time_check_refuses_a_tampered_remote_href(tmp_path: Path) -> None:
    item = RemoteApi(url=API, extra_hosts=("127.0.0.1:9",)).adopt(_es_item() | {"assets": {}})
    local = tmp_path / "secret.tif"
    local.write_bytes(b"not a tiff")
    item["assets"] = {"red": {"href": str(local), "roles": ["data"], "eo:bands": [{"name": "red"}]}}
    grid = Grid(crs=None, transform=Affine.identity(), width=2, height=2)
    with pytest.raises(ToolInputError, match="not on the hosts allowed"):
        read_bands(Scene(item), ["red"], grid)


def test_remote_items_never_replace_local_ones(tmp_path: Path) -> None:
    ctx = ToolContext.from_settings(Settings(home=tmp_path, _env_file=None))  # type: ignore[call-arg]
    local: dict[str, Any] = {"type": "Feature", "stac_version": "1.1.0", "id": "bordeaux-2016", "collection": "mine",
             "geometry": None, "properties": {"datetime": "2016-05-04T00:00:00Z", "geovigie:georeferenced": False},
             "assets": {}, "links": []}  # fmt: skip
    upsert_item(ctx.db, local, source_path="/data/bordeaux.tif", fingerprint="local")
    hostile = RemoteApi(url=API).adopt(dict(local, id="bordeaux-2016", collection="mine", properties={}))
    assert hostile["id"] == namespaced_id(API, "mine", "bordeaux-2016") != "bordeaux-2016"
    assert cache_items(ctx.db, RemoteResult(url=API, items=[hostile])) == 1
    assert get_scene(ctx.db, "bordeaux-2016").properties.get("geovigie:source_api") is None
    assert source_of(ctx.db, "bordeaux-2016") == "/data/bordeaux.tif"
    # an id stored from another source is not overwritten either (a second API claiming the same id)
    other = RemoteResult(url="http://other.example/stac", items=[dict(hostile)])
    assert cache_items(ctx.db, other) == 0
    assert source_of(ctx.db, hostile["id"]) == API


def test_an_api_cannot_smuggle_geovigie_properties(tmp_path: Path) -> None:
    """Mosaic parts or a fake ``source_api`` sent by the API would make hrefs look local: they are stripped."""
    raw = _es_item()
    local_part = {"id": "p", "properties": {}, "assets": {"red": {"href": "/etc/passwd", "roles": ["data"]}}}
    raw["properties"].update(
        {"geovigie:parts": [local_part], "geovigie:asset_hosts": ["169.254.169.254"], "geovigie:scale": 1.0}
    )
    item = RemoteApi(url="https://earth-search.aws.element84.com/v1").adopt(raw)
    props = item["properties"]
    assert "geovigie:parts" not in props and "geovigie:scale" not in props
    assert "169.254.169.254" not in props["geovigie:asset_hosts"]
