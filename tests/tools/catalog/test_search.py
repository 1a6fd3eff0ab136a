from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.ingest import ingest_paths
from geovigie.tools.catalog.rank import score_item
from geovigie.tools.catalog.search import SearchImageryInput, search_imagery
from geovigie.tools.catalog.store import upsert_item

AOI = (2.0, 48.0, 2.2, 48.2)


def make_item(
    item_id: str,
    bbox: tuple[float, float, float, float] | None,
    *,
    when: str | None = "2021-06-01T10:00:00Z",
    cloud: float | None = 10.0,
    gsd: float = 10.0,
    collection: str = "s2",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    props: dict[str, Any] = {"datetime": when, "gsd": gsd, "geovigie:georeferenced": bbox is not None}
    if cloud is not None:
        props["eo:cloud_cover"] = cloud
    props.update(extra or {})
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": collection,
        "geometry": None,
        "properties": props,
        "assets": {
            "data": {
                "href": f"/x/{item_id}.tif",
                "roles": ["data"],
                "eo:bands": [{"name": "B04", "common_name": "red"}],
            }
        },
        "links": [],
    }
    if bbox is not None:
        w, s, e, n = bbox
        item["bbox"] = list(bbox)
        item["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    return item


def add(ctx: ToolContext, *items: dict[str, Any]) -> None:
    for item in items:
        upsert_item(ctx.db, item, source_path=f"/x/{item['id']}.tif", fingerprint=item["id"])


def run(ctx: ToolContext, **kwargs: Any) -> Any:
    return search_imagery.run(kwargs, ctx)


def ids(out: Any) -> list[str]:
    return [i.item_id for i in out.result.items]


def test_ranking_prefers_full_coverage(ctx: ToolContext) -> None:
    add(ctx, make_item("full", (1.9, 47.9, 2.3, 48.3)), make_item("half", (2.1, 47.9, 2.3, 48.3)))
    out = run(ctx, bbox=AOI)
    assert ids(out) == ["full", "half"]
    full, half = out.result.items
    assert full.coverage_pct == pytest.approx(100.0)
    assert half.coverage_pct == pytest.approx(50.0, abs=1.0)
    assert full.score > half.score
    assert "full" in out.summary and "100 %" in out.summary


def test_ranking_and_filter_by_cloud(ctx: ToolContext) -> None:
    add(
        ctx, make_item("cloudy", AOI, cloud=60), make_item("clear", AOI, cloud=5), make_item("unknown", AOI, cloud=None)
    )
    out = run(ctx, bbox=AOI)
    assert ids(out) == ["clear", "unknown", "cloudy"]
    filtered = run(ctx, bbox=AOI, max_cloud=30)
    assert ids(filtered) == ["clear", "unknown"]
    assert filtered.result.excluded == {"too cloudy": 1}
    assert any("unknown cloud cover" in n for n in filtered.notes)


def test_date_window_and_year_only_periods(ctx: ToolContext) -> None:
    year_only = make_item(
        "y1985",
        AOI,
        when="1985-07-01T00:00:00Z",
        extra={
            "geovigie:date_precision": "year",
            "start_datetime": "1985-01-01T00:00:00Z",
            "end_datetime": "1985-12-31T23:59:59Z",
        },
    )
    add(ctx, make_item("a2020", AOI, when="2020-06-01T10:00:00Z"), make_item("a2021", AOI), year_only)
    assert ids(run(ctx, bbox=AOI, start="2021-01-01", end="2021-12-31")) == ["a2021"]
    # a window inside 1985 that does not contain the mid-year stamp still finds the year-only image
    assert ids(run(ctx, bbox=AOI, start="1985-02-01", end="1985-03-01")) == ["y1985"]
    assert ids(run(ctx, bbox=AOI, start="2020-06-01", end="2020-06-01")) == ["a2020"]


def test_prefer_latest_or_earliest(ctx: ToolContext) -> None:
    add(ctx, *(make_item(f"m{m}", AOI, when=f"2021-{m:02d}-15T10:00:00Z") for m in (2, 6, 11)))
    window = {"bbox": AOI, "start": "2021-01-01", "end": "2021-12-31"}
    assert ids(run(ctx, **window)) == ["m11", "m6", "m2"]
    assert ids(run(ctx, **window, prefer="earliest")) == ["m2", "m6", "m11"]
    assert ids(run(ctx, **window, prefer="middle"))[0] == "m6"


def test_inverted_dates_and_bad_bbox_are_input_errors(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="after end date"):
        run(ctx, start="2022-01-01", end="2021-01-01")
    with pytest.raises(ToolInputError, match="after end date"):
        search_imagery.func(SearchImageryInput(start=date(2022, 1, 1), end=date(2021, 1, 1)), ctx)
    with pytest.raises(ToolInputError, match="inverted"):
        run(ctx, bbox=(2.2, 48.0, 2.0, 48.2))
    with pytest.raises(ToolInputError):
        run(ctx, max_cloud=150)


def test_aoi_over_the_limit(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "h", stac_api_urls=[], max_aoi_km2=100, _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    with pytest.raises(ToolInputError) as err:
        run(ctx, bbox=AOI)  # about 15 km x 22 km = 330 km²
    assert "km²" in err.value.message and err.value.hint


def test_plain_images_only_without_bbox_or_by_name(ctx: ToolContext) -> None:
    plain = make_item("dota-P0706", None, when=None, cloud=None, gsd=0.256)
    plain["properties"].update({"start_datetime": "1970-01-01T00:00:00Z", "end_datetime": "2020-01-01T00:00:00Z"})
    plain["properties"]["geovigie:date_precision"] = "unknown"
    add(ctx, plain, make_item("s2", AOI))
    assert ids(run(ctx, bbox=AOI)) == ["s2"]
    assert sorted(ids(run(ctx))) == ["dota-P0706", "s2"]
    named = run(ctx, item_ids=["P0706.tif"], bbox=AOI)
    assert ids(named) == ["dota-P0706"]
    assert named.result.items[0].coverage_pct is None and named.result.items[0].georeferenced is False
    missing = run(ctx, item_ids=["nothing-like-this"])
    assert ids(missing) == [] and any("nothing-like-this" in n for n in missing.notes)
    # a date filter leaves out images whose date is unknown, and says so
    dated = run(ctx, start="2000-01-01")
    assert ids(dated) == ["s2"] and dated.result.excluded == {"date unknown": 1}


def test_gsd_and_collection_filters(ctx: ToolContext) -> None:
    add(ctx, make_item("coarse", AOI, gsd=10), make_item("fine", AOI, gsd=0.5, collection="aerial"))
    assert ids(run(ctx, bbox=AOI, max_gsd=1)) == ["fine"]
    assert ids(run(ctx, bbox=AOI, min_gsd=5)) == ["coarse"]
    assert ids(run(ctx, bbox=AOI, collections=["s2"])) == ["coarse"]


def test_empty_result_suggests_widening(ctx: ToolContext) -> None:
    add(ctx, make_item("elsewhere", (10.0, 10.0, 10.1, 10.1)), make_item("cloudy", AOI, cloud=90))
    out = run(ctx, bbox=AOI, max_cloud=20)
    assert out.result.items == [] and out.result.total_matches == 0
    assert "No imagery found" in out.summary and "widening the dates" in out.summary
    assert "1 too cloudy" in out.summary


def test_provenance_and_limit(ctx: ToolContext) -> None:
    add(ctx, *(make_item(f"i{k}", AOI, cloud=k) for k in range(5)))
    out = run(ctx, bbox=AOI, limit=2, max_cloud=50)
    assert ids(out) == ["i0", "i1"] and out.result.total_matches == 5
    prov = out.provenance
    assert prov.tool == "search_imagery" and prov.sources == ["local catalog"]
    assert [s.item_id for s in prov.scenes] == ["i0", "i1"]
    assert prov.aoi_bbox == AOI and prov.parameters["max_cloud"] == 50
    assert {f.name for f in out.figures} == {"items_found", "best_item_coverage"}


def test_score_formula() -> None:
    best = score_item(coverage=1.0, cloud_cover=0.0, date_fit=1.0, gsd=10.0)
    assert best == pytest.approx(1.0)
    assert score_item(coverage=0.5, cloud_cover=0.0, date_fit=1.0, gsd=10.0) == pytest.approx(0.8)
    assert score_item(coverage=1.0, cloud_cover=100.0, date_fit=1.0, gsd=10.0) == pytest.approx(0.7)
    assert score_item(coverage=None, cloud_cover=0.0, date_fit=1.0, gsd=40.0) == pytest.approx(
        (0.3 + 0.2 + 0.1 * 0.5) / 0.6, abs=1e-4
    )


def test_real_bordeaux_pair(ctx: ToolContext, data_dir: Path) -> None:
    bordeaux = data_dir / "oscd" / "bordeaux"
    if not bordeaux.is_dir():
        pytest.skip("oscd/bordeaux missing from the sample data")
    ingest_paths([bordeaux], ctx.db)
    aoi = (-0.59, 44.82, -0.56, 44.85)
    latest = run(ctx, bbox=aoi)
    assert ids(latest) == ["oscd-bordeaux-2017-10-26", "oscd-bordeaux-2016-05-04"]
    assert latest.result.items[0].coverage_pct == pytest.approx(100.0)
    assert "blue" in latest.result.items[0].bands
    before = run(ctx, bbox=aoi, start="2016-01-01", end="2016-12-31")
    assert ids(before) == ["oscd-bordeaux-2016-05-04"]
    assert ids(run(ctx, bbox=(-0.6, 44.86, -0.5, 44.9)))  # partial overlap still found
    assert ids(run(ctx, bbox=(1.0, 44.0, 1.1, 44.1))) == []


def test_mission_collection_ids_select_local_items(ctx: ToolContext) -> None:
    add(
        ctx,
        make_item("oscd-x", AOI, collection="oscd-sentinel-2-l1c", extra={"platform": "sentinel-2"}),
        make_item("pucallpa-x", AOI, collection="landsat-pucallpa", extra={"platform": "landsat"}),
        make_item("naip-x", AOI, collection="naip", extra={"platform": "naip"}),
    )
    assert ids(run(ctx, bbox=AOI, collections=["sentinel-2-l2a"])) == ["oscd-x"]
    assert ids(run(ctx, bbox=AOI, collections=["landsat-c2-l2"])) == ["pucallpa-x"]
    assert sorted(ids(run(ctx, bbox=AOI, collections=["naip", "oscd-sentinel-2-l1c"]))) == ["naip-x", "oscd-x"]
    assert ids(run(ctx, bbox=AOI, collections=["sentinel-1-grd"])) == []


def test_an_empty_catalog_says_there_is_no_imagery_not_that_the_dates_are_wrong(ctx: ToolContext) -> None:
    out = run(ctx, bbox=[-1.0, 38.0, -0.9, 38.1], start="2019-09-01", end="2019-09-30")
    assert out.result.items == [] and out.result.catalog_empty
    assert "no imagery at all" in out.summary and "widening the dates" not in out.summary
    add(ctx, make_item("elsewhere", bbox=(10.0, 40.0, 10.1, 40.1)))
    out = run(ctx, bbox=[-1.0, 38.0, -0.9, 38.1], start="2019-09-01", end="2019-09-30")
    assert out.result.items == [] and not out.result.catalog_empty  # imagery exists, just not here
