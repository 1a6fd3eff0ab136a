"""Remote reading end to end against the loopback Earth Search / Planetary Computer replica (see conftest.py).

Every figure is compared with the same question asked of the local OSCD sample (EPSG:4326 L1C files); the
replica's pixels are the same values reprojected to UTM 30N, so the figures agree within resampling error.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import box

from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import ingest_paths, search_imagery
from geovigie.tools.catalog.hosts import RemoteApi
from geovigie.tools.change import detect_change
from geovigie.tools.raster import Scene, decision_of, register_tokens
from geovigie.tools.raster.read import read_aoi
from geovigie.tools.segment import segment

AOI = (-0.595, 44.815, -0.556, 44.862)
"""Inside the OSCD Bordeaux crop (Garonne, docks, city): water, built-up and vegetation."""


def _remote_ctx(tmp_path: Path, replica: Any, *urls: str) -> ToolContext:
    settings = Settings(
        home=tmp_path / "remote",
        stac_api_urls=list(urls),
        stac_timeout_s=10,
        stac_asset_hosts=[replica.cogs.host, replica.blobs.host],
        stac_sas_urls={replica.planetary: f"{replica.blobs.url}/api/sas/v1/token"},
        _env_file=None,  # type: ignore[call-arg]
    )
    return ToolContext.from_settings(settings)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> ToolContext:
    settings = Settings(home=tmp_path_factory.mktemp("local"), _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    ingest_paths([data_dir / "oscd" / "bordeaux"], ctx.db)
    return ctx


def _find(ctx: ToolContext, start: str, end: str, **extra: Any) -> list[str]:
    out = search_imagery.run({"bbox": AOI, "start": start, "end": end, "collections": ["sentinel-2-l2a"], **extra}, ctx)
    return [i.item_id for i in out.result.items]


def _figure(out: Any, name: str) -> float:
    return next(f.value for f in out.figures if f.name == name)


def test_water_matches_the_local_sample(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    ids = _find(ctx, "2016-05-01", "2016-05-06")
    assert len(ids) == 1 and ids[0].endswith("/sentinel-2-l2a/S2A_30TXQ_20160504_0_L2A")
    remote = segment.run({"item_id": ids[0], "target": "water", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2016-05-04", "target": "water", "bbox": AOI}, local)
    print("water", [(f.name, f.value) for f in remote.figures], [(f.name, f.value) for f in base.figures])
    assert remote.result.area_m2 == pytest.approx(base.result.area_m2, rel=0.04)
    # the wrong pre-04.00 offset of the metadata was dropped, and provenance says so and links the item
    assert any("dropped: baseline 02.02" in d for d in decision_of(ids[0]))
    ref = remote.provenance.scenes[0]
    assert (ref.href or "").startswith(replica.earth_search) and (ref.href or "").endswith("/S2A_30TXQ_20160504_0_L2A")
    assert {h.rsplit("/", 1)[-1] for h in ref.assets_read} >= {"B03.tif", "B11.tif", "SCL.tif"}
    assert ref.masks == ["scl"] and ref.radiometry and "dropped" in ref.radiometry[0]
    assert not any(h.startswith("s3://") or "AOT" in h or "TCI" in h for h in ref.assets_read)


def test_landcover_matches_the_local_sample(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    item = _find(ctx, "2016-05-01", "2016-05-06")[0]
    remote = segment.run({"item_id": item, "target": "landcover", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2016-05-04", "target": "landcover", "bbox": AOI}, local)
    shares = {c.name: 100 * c.fraction for c in remote.result.classes}
    expected = {c.name: 100 * c.fraction for c in base.result.classes}
    print("landcover", shares, expected)
    for name, pct in expected.items():
        assert shares.get(name, 0.0) == pytest.approx(pct, abs=2.0), name


def test_urban_change_with_the_baseline_offset_matches_the_local_sample(
    replica: Any, local: ToolContext, tmp_path: Path
) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    before = _find(ctx, "2016-05-01", "2016-05-06")[0]
    after = _find(ctx, "2023-10-01", "2023-10-31")[0]
    args = {"preset": "urban", "bbox": AOI}
    remote = detect_change.run({"before_item_id": before, "after_item_id": after, **args}, ctx)
    base = detect_change.run(
        {"before_item_id": "oscd-bordeaux-2016-05-04", "after_item_id": "oscd-bordeaux-2017-10-26", **args}, local
    )
    print("urban", remote.result.changed_pct_of_valid, base.result.changed_pct_of_valid)
    # the 2023 item stores reflectance x 10000 + 1000: without the offset most pixels would "change"
    assert remote.result.changed_pct_of_valid == pytest.approx(base.result.changed_pct_of_valid, abs=1.0)
    assert any("checked on pixels" in d or "raster:bands" in d for d in decision_of(after))


def test_cloudy_item_is_screened_with_its_scl(replica: Any, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    found = search_imagery.run(
        {"bbox": AOI, "start": "2016-05-20", "end": "2016-05-28", "collections": ["sentinel-2-l2a"]}, ctx
    )
    item = found.result.items[0].item_id
    assert found.result.items[0].cloud_cover == 30.0
    cloud = segment.run({"item_id": item, "target": "cloud", "bbox": AOI}, ctx)
    assert "SCL" in cloud.result.method
    # the synthetic cloud disk covers this share of the AOI (the SCL marks exactly the disk, at 20 m)
    aoi = shapely.transform(box(*AOI), Transformer.from_crs("EPSG:4326", "EPSG:32630", always_xy=True).transform,
                            interleaved=False)  # fmt: skip
    expected = replica.cloud_disk.intersection(aoi).area / aoi.area
    print("cloud", cloud.result.fraction, expected)
    assert cloud.result.fraction == pytest.approx(expected, abs=0.02)
    water = segment.run({"item_id": item, "target": "water", "bbox": AOI}, ctx)
    assert water.result.cloud_fraction == pytest.approx(cloud.result.fraction, abs=0.02)


def test_planetary_computer_items_are_signed_and_offset(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.planetary)
    found = search_imagery.run({"bbox": AOI, "start": "2023-10-01", "end": "2023-10-31", "max_gsd": 10}, ctx)
    assert found.result.items, found.summary  # per-asset gsd (no item gsd on PC items) passes max_gsd
    item = found.result.items[0].item_id
    assert found.result.items[0].gsd_m == 10.0
    # the blob host refuses unsigned reads, as Planetary Computer does
    href = f"{replica.blobs.url}/files/{item.rsplit('/', 1)[-1]}/B03.tif"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(href, timeout=5)
    assert refused.value.code == 403
    refused_before = replica.blobs.refused
    remote = segment.run({"item_id": item, "target": "water", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2017-10-26", "target": "water", "bbox": AOI}, local)
    print("pc water", remote.result.area_m2, base.result.area_m2, decision_of(item))
    assert replica.blobs.refused == refused_before and replica.blobs.tokens_issued >= 1
    # no raster:bands on PC: baseline 05.09 -> DN = reflectance x 10000 + 1000, checked on the pixels
    assert any("baseline 05.09" in d and "- 0.1" in d for d in decision_of(item))
    assert remote.result.area_m2 == pytest.approx(base.result.area_m2, rel=0.04)


def test_swath_edge_item_is_read_on_its_covered_half_and_blocks_are_read_once(replica: Any, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    full = _find(ctx, "2016-05-01", "2016-05-06")[0]
    edge = _find(ctx, "2016-05-10", "2016-05-16")[0]
    served, distinct = replica.cogs.bytes_served(), replica.cogs.distinct_bytes()
    half = segment.run({"item_id": edge, "target": "water", "bbox": AOI}, ctx)
    read = replica.cogs.bytes_served() - served
    needed = replica.cogs.distinct_bytes() - distinct
    print(f"bytes read {read} / distinct {needed} = {read / needed:.2f}")
    assert read / needed < 1.3  # each block fetched about once (merged ranges, no sidecar probes)
    whole = segment.run({"item_id": full, "target": "water", "bbox": AOI}, ctx)
    assert 0.3 < half.result.valid_pixels / whole.result.valid_pixels < 0.7
    # a follow-up question on the same item reads no block again (GDAL's block cache): the same question
    # fetches nearly nothing, another one only the bands it adds
    before = replica.cogs.bytes_served()
    segment.run({"item_id": edge, "target": "water", "bbox": AOI}, ctx)
    assert replica.cogs.bytes_served() - before < 0.05 * read
    before, distinct = replica.cogs.bytes_served(), replica.cogs.distinct_bytes()
    segment.run({"item_id": edge, "target": "vegetation", "bbox": AOI}, ctx)
    assert replica.cogs.bytes_served() - before <= 1.05 * (replica.cogs.distinct_bytes() - distinct)


def test_aoi_across_two_tiles_is_read_as_a_mosaic_of_the_pass(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    found = search_imagery.run(
        {"bbox": AOI, "start": "2016-06-01", "end": "2016-06-06", "collections": ["sentinel-2-l2a"]}, ctx
    )
    best, *others = found.result.items
    assert "/mosaic-2016-06-04-" in best.item_id and best.coverage_pct == pytest.approx(100, abs=1)
    assert sorted(round(o.coverage_pct or 0) for o in others) == pytest.approx([55, 67], abs=12)
    remote = segment.run({"item_id": best.item_id, "target": "water", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2016-05-04", "target": "water", "bbox": AOI}, local)
    print("mosaic water", remote.result.area_m2, base.result.area_m2, [o.coverage_pct for o in others])
    assert remote.result.area_m2 == pytest.approx(base.result.area_m2, rel=0.04)
    assert remote.result.valid_pixels == pytest.approx(
        segment.run(
            {"item_id": _find(ctx, "2016-05-01", "2016-05-06")[0], "target": "water", "bbox": AOI}, ctx
        ).result.valid_pixels,
        rel=0.01,
    )
    ref = remote.provenance.scenes[0]
    assert "S2A_30TXQ_20160604_0_L2A" in (ref.href or "") and "S2A_30TXR_20160604_0_L2A" in (ref.href or "")
    assert sum(ref.mosaic_shares.values()) == pytest.approx(1.0) and len(ref.mosaic_shares) == 2
    assert {h.split("/files/")[1].split("/")[0] for h in ref.assets_read} == {
        "S2A_30TXQ_20160604_0_L2A",
        "S2A_30TXR_20160604_0_L2A",
    }


@pytest.mark.slow
def test_generic_change_reads_reflectance_assets_only(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    before = _find(ctx, "2016-05-01", "2016-05-06")[0]
    after = _find(ctx, "2023-10-01", "2023-10-31")[0]
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "generic", "bbox": AOI}, ctx)
    read = {h.rsplit("/", 1)[-1] for s in out.provenance.scenes for h in s.assets_read}
    print("generic", out.result.changed_pct_of_valid, sorted(read))
    assert "SCL.tif" in read  # read as the cloud mask, never as a spectral band
    assert read and not read & {"AOT.tif", "WVP.tif", "TCI.tif"}
    assert all(h.startswith("http") for s in out.provenance.scenes for h in s.assets_read)
    base = detect_change.run(
        {"before_item_id": "oscd-bordeaux-2016-05-04", "after_item_id": "oscd-bordeaux-2017-10-26",
         "preset": "generic", "bbox": AOI}, local)  # fmt: skip
    # same pixel pair (the 2023 item holds the 2017 pixels + 1000 DN): the offset must not show as change
    assert out.result.changed_pct_of_valid == pytest.approx(base.result.changed_pct_of_valid, abs=1.5)


def test_harmonised_earth_search_item_is_not_offset_twice(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    item = _find(ctx, "2023-11-01", "2023-11-10")[0]
    remote = segment.run({"item_id": item, "target": "water", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2017-10-26", "target": "water", "bbox": AOI}, local)
    print("harmonised", remote.result.area_m2, base.result.area_m2, decision_of(item))
    assert any("not applied: boa_offset_applied" in d for d in decision_of(item))
    assert remote.result.area_m2 == pytest.approx(base.result.area_m2, rel=0.04)


def test_private_api_token_is_sent_with_asset_reads(replica: Any, loopback: Any, tmp_path: Path) -> None:
    private = loopback.FileServer(replica.cogs.root, bearer="s3cret")
    api = "https://stac.private.example/v1"
    with private.running():
        served = next(i for i in replica.es_items if i["id"] == "S2A_30TXQ_20160504_0_L2A")
        raw = json.loads(json.dumps(served).replace(replica.cogs.url, private.url))
        item = RemoteApi(url=api, token="s3cret", extra_hosts=(private.host,)).adopt(raw)
        scene = Scene(item)
        with pytest.raises(ToolInputError):  # no token registered for this API: the host refuses
            read_aoi(scene, ["green"], AOI)
        register_tokens({api: "s3cret"})
        # another band: GDAL remembers for the process that the refused URL could not be opened
        data = read_aoi(Scene(item), ["swir16"], AOI)
    assert np.isfinite(data.data).mean() > 0.5 and private.refused == 1 and private.bytes_served() > 0
