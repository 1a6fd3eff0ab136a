import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from PIL import Image

from geovigie.core.domain import ToolOutput
from geovigie.core.errors import TooCloudyError, ToolInputError
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.store import upsert_item
from geovigie.tools.change.tool import detect_change
from geovigie.tools.raster.scene import SENTINEL2_BANDS

BANDS = [("B02", "blue"), ("B03", "green"), ("B04", "red"), ("B08", "nir"), ("B11", "swir16"), ("B12", "swir22")]
# Reflectance spectra (blue, green, red, nir, swir16, swir22).
VEGETATION = (0.04, 0.07, 0.05, 0.35, 0.20, 0.10)
SOIL = (0.10, 0.12, 0.15, 0.20, 0.30, 0.25)
WATER = (0.06, 0.05, 0.03, 0.02, 0.01, 0.005)
BURNED = (0.05, 0.06, 0.08, 0.12, 0.20, 0.22)
CLOUD = (0.50, 0.50, 0.50, 0.55, 0.40, 0.30)
SIZE = 200
PIXEL_M2 = 100.0  # 10 m pixels


def _landscape(seed: int) -> np.ndarray:
    """Vegetation on the left, bare soil on the right, with sensor noise."""
    img = np.empty((6, SIZE, SIZE), np.float32)
    img[:, :, : SIZE // 2] = np.array(VEGETATION, np.float32)[:, None, None]
    img[:, :, SIZE // 2 :] = np.array(SOIL, np.float32)[:, None, None]
    return img + np.random.default_rng(seed).normal(0, 0.004, img.shape).astype(np.float32)


def _paint(img: np.ndarray, rows: slice, cols: slice, spectrum: tuple[float, ...]) -> np.ndarray:
    img[:, rows, cols] = np.array(spectrum, np.float32)[:, None, None]
    return img


@pytest.fixture
def add_scene(ctx, make_geotiff, register):
    def add(item_id: str, reflectance: np.ndarray, date: str) -> str:
        data = np.clip(reflectance * 10_000, 1, 65535).astype(np.uint16)
        path = make_geotiff(data, name=f"{item_id}.tif")
        return register(ctx, path, item_id=item_id, bands=BANDS, datetime=f"{date}T10:00:00Z", scale=1e-4)

    return add


def _geojson(ctx: ToolContext, out: ToolOutput[Any]) -> dict[str, Any]:
    return json.loads(ctx.artifacts.path_of(out.result.artifacts.polygons_geojson).read_text())


def test_flood_square_area_polygons_and_artifacts(ctx, add_scene):
    before = add_scene("s2-a", _landscape(1), "2020-06-01")
    after = add_scene("s2-b", _paint(_landscape(2), slice(60, 100), slice(30, 70), WATER), "2020-06-11")
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "flood"}, ctx)
    r = out.result
    truth = 40 * 40 * PIXEL_M2
    assert r.method == "index_difference" and r.area_unit == "m2"
    assert r.changed_area_m2 == pytest.approx(truth, rel=0.05)
    assert r.changed_pct_of_valid == pytest.approx(100 * 1600 / SIZE**2, rel=0.05)
    assert r.days_between == 10 and r.polygon_count == 1 and r.cloud_excluded_pct == 0
    assert {d.direction: d.counted for d in r.directions} == {"water gain": True, "water loss": False}
    gj = _geojson(ctx, out)
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0]
    assert -180 <= lon <= 180 and 0 < lat < 90  # EPSG:4326, not UTM metres
    assert sum(f["properties"]["area_m2"] for f in gj["features"]) == pytest.approx(r.changed_area_m2, rel=0.02)
    assert gj["features"][0]["properties"]["preset"] == "flood"
    roles = {a.role for a in out.artifacts}
    assert {"before", "after", "side_by_side", "overlay", "polygons", "mask"} <= roles
    with rasterio.open(ctx.artifacts.path_of(r.artifacts.mask_cog)) as src:
        classes = src.read(1)
        assert src.crs is not None and classes.shape == (SIZE, SIZE)
    assert (classes[60:100, 30:70] == 1).mean() > 0.95
    assert "s2-a" in out.summary and "2020-06-11" in out.summary
    assert out.provenance.item_ids == ["s2-a", "s2-b"]


def test_tiled_run_matches_single_tile(add_scene, ctx):
    before = add_scene("tile-a", _landscape(14), "2020-06-01")
    after = add_scene("tile-b", _paint(_landscape(15), slice(50, 110), slice(40, 100), WATER), "2020-06-11")
    args = {"before_item_id": before, "after_item_id": after, "preset": "flood"}
    small = ctx.settings.model_copy(update={"tile_size": 64, "tile_overlap": 8})
    tiled_ctx = ToolContext(settings=small, db=ctx.db, artifacts=ctx.artifacts)
    single = detect_change.run(args, ctx).result
    tiled = detect_change.run(args, tiled_ctx).result
    assert tiled.changed_area_m2 == pytest.approx(60 * 60 * PIXEL_M2, rel=0.05)
    assert tiled.changed_pixels == pytest.approx(single.changed_pixels, rel=0.01)
    assert tiled.polygon_count == 1  # no seams where the square crosses tile edges


def test_flood_with_cva_method_is_still_restricted_to_new_water(ctx, add_scene):
    before = add_scene("cva-a", _landscape(16), "2020-06-01")
    after = _paint(_landscape(17), slice(60, 100), slice(30, 70), WATER)
    after = _paint(after, slice(150, 180), slice(120, 160), BURNED)  # a change, but not water
    after_id = add_scene("cva-b", after, "2020-06-11")
    args = {"before_item_id": before, "after_item_id": after_id, "preset": "flood", "method": "cva"}
    r = detect_change.run(args, ctx).result
    assert r.method == "cva"
    assert r.changed_area_m2 == pytest.approx(1600 * PIXEL_M2, rel=0.05)


def test_burn_patch_dnbr(ctx, add_scene):
    before = add_scene("pre-fire", _landscape(3), "2021-07-01")
    after = add_scene("post-fire", _paint(_landscape(4), slice(20, 80), slice(10, 70), BURNED), "2021-08-01")
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "burn"}, ctx)
    assert out.result.threshold is not None and out.result.threshold >= 0.1
    assert out.result.changed_area_m2 == pytest.approx(60 * 60 * PIXEL_M2, rel=0.05)


def test_deforestation_counts_only_vegetation_loss(ctx, add_scene):
    before = add_scene("forest-1", _paint(_landscape(5), slice(150, 190), slice(120, 160), VEGETATION), "2019-01-01")
    after = _paint(_landscape(6), slice(10, 60), slice(10, 60), SOIL)  # clear-cut
    after = _paint(after, slice(150, 190), slice(120, 160), SOIL)  # soil -> vegetation -> soil: a loss as well
    after_id = add_scene("forest-2", after, "2020-01-01")
    out = detect_change.run({"before_item_id": before, "after_item_id": after_id, "preset": "deforestation"}, ctx)
    assert out.result.changed_area_m2 == pytest.approx((50 * 50 + 40 * 40) * PIXEL_M2, rel=0.05)


def test_identical_images_show_no_change(ctx, add_scene):
    img = _landscape(7)
    a = add_scene("same-1", img, "2020-01-01")
    b = add_scene("same-2", img.copy(), "2020-02-01")
    out = detect_change.run({"before_item_id": a, "after_item_id": b}, ctx)
    assert out.result.changed_pixels == 0
    assert out.result.threshold is None and any("no spread" in n for n in out.notes)


def test_inverted_dates_and_same_item_are_input_errors(ctx, add_scene):
    a = add_scene("early", _landscape(8), "2020-01-01")
    b = add_scene("late", _landscape(9), "2020-03-01")
    with pytest.raises(ToolInputError, match="inverted") as exc:
        detect_change.run({"before_item_id": b, "after_item_id": a}, ctx)
    assert "Swap" in exc.value.hint
    with pytest.raises(ToolInputError, match="same item"):
        detect_change.run({"before_item_id": a, "after_item_id": a}, ctx)


def test_too_cloudy_after_image(ctx, add_scene):
    a = add_scene("clear", _landscape(10), "2020-01-01")
    b = add_scene("cloudy", _paint(_landscape(11), slice(0, 190), slice(0, SIZE), CLOUD), "2020-01-11")
    with pytest.raises(TooCloudyError):
        detect_change.run({"before_item_id": a, "after_item_id": b}, ctx)


def test_partly_cloudy_pixels_are_excluded_and_reported(ctx, add_scene):
    a = add_scene("c-1", _landscape(12), "2020-01-01")
    after = _paint(_landscape(13), slice(0, 40), slice(0, SIZE), CLOUD)
    b = add_scene("c-2", _paint(after, slice(100, 140), slice(20, 60), WATER), "2020-01-11")
    out = detect_change.run({"before_item_id": a, "after_item_id": b, "preset": "flood"}, ctx)
    assert out.result.cloud_excluded_pct == pytest.approx(20, abs=2)
    assert out.result.changed_area_m2 == pytest.approx(1600 * PIXEL_M2, rel=0.05)


def _plain(ctx: ToolContext, tmp_path: Path, register: Any, name: str, size: int, seed: int) -> str:
    rgb = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    path = tmp_path / f"{name}.png"
    Image.fromarray(rgb).save(path)
    return register(ctx, path, item_id=name, bands=[("red", "red"), ("green", "green"), ("blue", "blue")],
                    datetime=None, georeferenced=False, gsd=None)  # fmt: skip


def test_mismatched_plain_image_sizes_are_input_errors(ctx, tmp_path, register):
    a = _plain(ctx, tmp_path, register, "small", 64, 1)
    b = _plain(ctx, tmp_path, register, "big", 80, 2)
    for first, second in ((a, b), (b, a)):
        with pytest.raises(ToolInputError, match="same size"):
            detect_change.run({"before_item_id": first, "after_item_id": second}, ctx)


def test_plain_rgb_pair_generic_change_in_pixels(ctx, tmp_path, register):
    rng = np.random.default_rng(3)
    base = np.clip(rng.normal(100, 6, (128, 128, 3)), 0, 255).astype(np.uint8)
    changed = base.copy()
    changed[40:80, 50:90] = (230, 220, 210)  # a new bright roof
    paths = []
    for name, img in (("A.png", base), ("B.png", changed)):
        Image.fromarray(img).save(tmp_path / name)
        paths.append(tmp_path / name)
    rgb = [("red", "red"), ("green", "green"), ("blue", "blue")]
    ids = [register(ctx, p, item_id=p.stem, bands=rgb, datetime=None, georeferenced=False, gsd=None) for p in paths]
    out = detect_change.run({"before_item_id": ids[0], "after_item_id": ids[1]}, ctx)
    assert out.result.area_unit == "px" and out.result.artifacts.polygons_geojson is None
    assert out.result.changed_pixels == pytest.approx(40 * 40, rel=0.1)


def test_rgb_pair_preset_fallback_and_impossible_index(ctx, tmp_path, register):
    a = _plain(ctx, tmp_path, register, "rgb-1", 64, 1)
    b = _plain(ctx, tmp_path, register, "rgb-2", 64, 2)
    out = detect_change.run({"before_item_id": a, "after_item_id": b, "preset": "burn"}, ctx)
    assert out.result.method == "cva" and any("change-vector analysis used" in n for n in out.notes)
    with pytest.raises(ToolInputError, match="Index differencing is impossible"):
        detect_change.run({"before_item_id": a, "after_item_id": b, "method": "index_difference"}, ctx)


def test_series_of_three_gives_interval_areas_and_first_change(ctx, add_scene):
    d1 = add_scene("t1", _landscape(20), "2020-01-01")
    img2 = _paint(_landscape(21), slice(20, 60), slice(20, 60), WATER)
    d2 = add_scene("t2", img2, "2020-02-01")
    img3 = _paint(_paint(_landscape(22), slice(20, 60), slice(20, 60), WATER), slice(120, 150), slice(130, 180), WATER)
    d3 = add_scene("t3", img3, "2020-03-01")
    args = {"before_item_id": d1, "after_item_id": d3, "preset": "flood", "series_item_ids": [d1, d2, d3]}
    r = detect_change.run(args, ctx).result
    assert len(r.intervals) == 2 and r.days_between == 60
    assert r.intervals[0].changed_area_m2 == pytest.approx(1600 * PIXEL_M2, rel=0.05)
    assert r.intervals[1].changed_area_m2 == pytest.approx(1500 * PIXEL_M2, rel=0.05)
    assert r.intervals[0].first_change_pixels == pytest.approx(1600, rel=0.05)
    assert r.intervals[1].first_change_pixels == pytest.approx(1500, rel=0.05)
    assert r.changed_area_m2 == pytest.approx(3100 * PIXEL_M2, rel=0.05)
    with rasterio.open(ctx.artifacts.path_of(r.artifacts.mask_cog)) as src:
        first = src.read(1)
    assert first[40, 40] == 1 and first[135, 150] == 2 and first[100, 100] == 0
    bad = dict(args, series_item_ids=[d1, d3, d2], after_item_id=d2)
    with pytest.raises(ToolInputError, match="time order"):
        detect_change.run(bad, ctx)
    with pytest.raises(ToolInputError, match="start with"):
        detect_change.run(dict(args, before_item_id=d2), ctx)
    with pytest.raises(ToolInputError, match="at least 3"):
        detect_change.run(dict(args, series_item_ids=[d1, d3]), ctx)


# --- real data -------------------------------------------------------------------------------------------

RENNES_F1 = 0.477
"""Measured with preset urban and the tool's defaults (benchmarks/accuracy_change.py)."""


def _oscd_item(root: Path, city: str, which: int) -> dict[str, Any]:
    folder = root / "oscd" / city / f"imgs_{which}"
    dates = dict(line.split(":") for line in (root / "oscd" / city / "dates.txt").read_text().split("\n") if line)
    day = dates[f"date_{which}"].strip()
    assets = {
        band: {"href": str(next(folder.glob(f"*_{band}.tif"))), "roles": ["data"], "gsd": gsd,
               "eo:bands": [{"name": band}]}
        for band, (_, gsd) in SENTINEL2_BANDS.items()
    }  # fmt: skip
    with rasterio.open(assets["B02"]["href"]) as src:
        b = src.bounds
    props = {"datetime": f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00Z", "gsd": 10.0, "geovigie:scale": 1e-4}
    return {"type": "Feature", "id": f"oscd-{city}-{which}", "collection": "oscd", "geometry": None,
            "bbox": [b.left, b.bottom, b.right, b.top], "properties": props, "assets": assets, "links": []}  # fmt: skip


def test_oscd_rennes_urban_change_f1(ctx, data_dir):
    city = "rennes"
    if not (data_dir / "oscd" / city).is_dir():
        pytest.skip(f"OSCD {city} not found under {data_dir}")
    for which in (1, 2):
        item = _oscd_item(data_dir, city, which)
        upsert_item(ctx.db, item, source_path=item["id"], fingerprint=item["id"])
    out = detect_change.run(
        {"before_item_id": "oscd-rennes-1", "after_item_id": "oscd-rennes-2", "preset": "urban"}, ctx
    )
    with rasterio.open(ctx.artifacts.path_of(out.result.artifacts.mask_cog)) as src:
        pred = np.isin(src.read(1), [1, 2])
    with rasterio.open(data_dir / "oscd" / city / "cm" / f"{city}-cm.tif") as src:
        truth = src.read(1) == 2
    assert pred.shape == truth.shape
    tp = (pred & truth).sum()
    f1 = 2 * tp / (pred.sum() + truth.sum())
    assert f1 >= RENNES_F1 - 0.05
    assert out.result.days_between == 670 and out.result.changed_area_m2 and out.result.changed_area_m2 > 0
