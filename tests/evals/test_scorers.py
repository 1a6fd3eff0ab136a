"""Scorers and metrics on hand-built answers and synthetic rasters with known overlaps."""

import json
import warnings
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from geovigie.evals.labels import OUTSIDE, EvalDataError, GridRef, label_on_grid, match_boxes, read_boxes, read_raster
from geovigie.evals.metrics import summarise, summarise_by_tag
from geovigie.evals.results import CaseResult, Score, TurnRecord
from geovigie.evals.schema import BoxesRef, Expect, ToolCallExpect, ToolsExpect, TruthExpect
from geovigie.evals.scorers import (
    bbox_iou,
    convert,
    match_arg,
    score_answer,
    score_choice,
    score_decline,
    score_number,
    score_provenance,
    score_text,
    score_tools,
)
from geovigie.evals.truth import TruthEnv, score_truth

TRACE: list[dict[str, Any]] = [
    {"tool": "geocode", "args": {"query": "Orihuela", "radius_km": 15.0}, "ok": True},
    {"tool": "search_imagery", "args": {"bbox": [-1.1, 37.9, -0.7, 38.2], "start": "2019-07-20", "end": "2019-09-17"}},
    {"tool": "search_imagery", "args": {"bbox": [-1.1, 37.9, -0.7, 38.2], "start": "2019-09-18", "end": "2019-09-18"}},
    {"tool": "detect_change", "args": {"preset": "flood", "collections": ["sentinel-2-l2a", "landsat"]}},
]


def _arg(raw):
    return ToolCallExpect.model_validate({"tool": "t", "args": {"a": raw}}).args["a"]


@pytest.mark.parametrize(
    ("raw", "actual", "ok"),
    [
        ("Orihuéla", "orihuela", True),
        ("Orihuela", "Orihuela del Tremedal", False),
        (15, 15.0000001, True),
        ([1, 2], [1, 2], True),
        ([1, 2], [1, 3], False),
        ({"approx": 10, "rel": 0.1}, 10.9, True),
        ({"approx": 10, "rel": 0.1}, 11.5, False),
        ({"bbox": [0, 0, 2, 2], "min_iou": 0.5}, [0, 0, 2, 1.5], True),
        ({"bbox": [0, 0, 2, 2], "min_iou": 0.5}, [1, 1, 3, 3], False),
        ({"date": "2019-09-18", "days": 1}, "2019-09-17", True),
        ({"date": "2019-09-18", "days": 1}, "2019-09-20T00:00:00Z", False),
        ({"contains": "tremedal"}, "Orihuela del Tremedal", True),
        ({"contains": "landsat"}, ["sentinel-2-l2a", "landsat"], True),
        ({"any_of": ["flood", "generic"]}, "generic", True),
        ({"subset": ["landsat"]}, ["sentinel-2-l2a", "landsat"], True),
        ({"subset": ["naip"]}, ["sentinel-2-l2a"], False),
        ({"regex": "^oscd-.*-2017"}, "oscd-paris-2017-11-07", True),
        ({"equals": None}, None, True),
    ],
)
def test_match_arg(raw, actual, ok):
    assert match_arg(_arg(raw), True, actual) is ok


def test_absent_arguments():
    assert match_arg(_arg({"absent": True}), False, None)
    assert match_arg(_arg({"absent": True}), True, None)
    assert not match_arg(_arg({"absent": True}), True, "2019-01-01")
    assert match_arg(_arg({"absent": False}), True, "x")
    assert not match_arg(_arg("x"), False, None)


def test_bbox_iou():
    assert bbox_iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert bbox_iou([0, 0, 1, 1], [2, 2, 3, 3]) == 0.0
    assert bbox_iou([0, 0, 2, 1], [1, 0, 3, 1]) == pytest.approx(1 / 3)


def test_score_tools_orders_and_arguments():
    exp = ToolsExpect.model_validate(
        {
            "sequence": ["geocode", "search_imagery", "search_imagery", "detect_change"],
            "calls": [
                {"tool": "geocode", "index": 0, "args": {"query": "Orihuela"}},
                {"tool": "search_imagery", "nth": 1, "args": {"start": {"date": "2019-09-18", "days": 0}}},
                {"tool": "detect_change", "args": {"preset": "burn"}},
            ],
        }
    )
    tools, args = score_tools(exp, TRACE)
    assert tools.passed and tools.metrics == {"tool_any_order": 1.0, "tool_in_order": 1.0, "tool_exact": 1.0}
    assert not args.passed and args.metrics["arg_accuracy"] == pytest.approx(2 / 3)
    assert "detect_change: preset='flood' do not match" in args.detail
    wrong_order = ToolsExpect.model_validate({"calls": [{"tool": "detect_change"}, {"tool": "geocode"}]})
    (score,) = score_tools(wrong_order, TRACE)
    assert not score.passed and score.metrics["tool_any_order"] == 1.0 and score.metrics["tool_in_order"] == 0.0
    any_order = wrong_order.model_copy(update={"order": "any", "forbidden": ["count_objects"], "max_calls": 4})
    assert score_tools(any_order, TRACE)[0].passed
    assert not score_tools(any_order.model_copy(update={"forbidden": ["geocode"]}), TRACE)[0].passed
    assert not score_tools(any_order.model_copy(update={"max_calls": 3}), TRACE)[0].passed
    nothing = ToolsExpect(sequence=[])
    assert score_tools(nothing, [])[0].passed and not score_tools(nothing, TRACE)[0].passed


def test_numbers_units_choice_text():
    answer = {
        "status": "answered",
        "text": "Oui : 45,7 ha de surfaces bâties nouvelles. Pas de nuages.",
        "figures": [
            {"name": "changed_area", "value": 457361.2, "unit": "m2", "tool": "detect_change"},
            {"name": "changed_pct_of_valid_area", "value": 1.8, "unit": "%", "tool": "detect_change"},
        ],
    }
    ok = score_number(
        Expect.model_validate({"answer": {"figure": "area$", "value": 45, "unit": "ha", "rel_tol": 0.05}}).numbers()[0],
        answer,
    )  # noqa: E501
    assert ok.passed and ok.value == pytest.approx(45.73612)
    off = Expect.model_validate({"answer": {"figure": "pct", "value": 1.0, "unit": "%", "abs_tol": 0.5}}).numbers()[0]
    assert not score_number(off, answer).passed
    bad_unit = Expect.model_validate({"answer": {"figure": "area", "value": 1, "unit": "km"}}).numbers()[0]
    assert "not convertible" in score_number(bad_unit, answer).detail
    assert convert(2.5, "km2", "ha") == pytest.approx(250) and convert(1, "m2", "%") is None
    choice = Expect.model_validate({"choice": {"any_of": ["yes", "oui"], "none_of": ["non"]}}).choice
    assert choice is not None and score_choice(choice, answer).passed
    assert not score_choice(choice.model_copy(update={"any_of": ["ou"]}), answer).passed  # whole words only
    text = Expect.model_validate({"text": {"must_contain": ["bâties"], "must_not_contain": ["NUAGES"]}}).text
    assert text is not None and not score_text(text, answer).passed
    assert "contains" in score_text(text, answer).detail


def test_provenance_and_decline():
    answer = {
        "status": "abstain",
        "figures": [
            {"name": "population", "value": 1, "unit": "", "tool": "geocode", "item_ids": [], "dates": []},
            {"name": "area", "value": 1, "unit": "m2", "tool": "segment", "item_ids": ["a"], "dates": ["2020-01-01"]},
            {"name": "count", "value": 1, "unit": "", "tool": "count_objects", "item_ids": ["b"], "dates": [None]},
            {"name": "x", "value": 1, "unit": "", "tool": "segment", "item_ids": [], "dates": []},
        ],
    }
    measured = score_provenance(answer, required=False)
    assert measured.passed is None and measured.value == pytest.approx(1 / 3)
    assert score_provenance(answer, required=True).passed is False
    expects_answer = Expect.model_validate({"truth": {"kind": "count", "count": 2}})
    decline = score_decline(expects_answer, answer)
    assert decline is not None and decline.metrics == {"expected": 0.0, "predicted": 1.0}
    declined = score_decline(Expect(status=["clarify", "abstain"]), answer)
    assert declined is not None and declined.metrics["expected"] == 1.0
    assert score_decline(Expect(), answer) is None
    names = [s.name for s in score_answer(Expect(status="abstain"), answer | {"trace": TRACE}, latency_s=1.0)]
    assert names == ["status", "decline", "instruction", "provenance"]


def _write(path, data, *, transform=None, crs=None, nodata=None):
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1, "dtype": data.dtype.name}
    if crs:
        profile.update(crs=crs, transform=transform)
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
    return path


def test_mask_truth_aligned_through_a_reference_image(tmp_path):
    # 40 x 40 source grid at 10 m; the label has no georeferencing but shares that grid.
    src_tf = Affine(10, 0, 500_000, 0, -10, 4_800_000)
    _write(tmp_path / "ref.tif", np.zeros((40, 40), np.uint16), transform=src_tf, crs="EPSG:32631")
    label = np.ones((40, 40), np.uint8)
    label[10:20, 10:20] = 2  # 100 change pixels
    label[0, :] = 0  # ignored row
    _write(tmp_path / "label.tif", label)
    # The artifact covers rows/cols 5..34 of the source grid (a crop): its pixel (0, 0) is source pixel (5, 5).
    pred = np.zeros((30, 30), np.uint8)
    pred[5:15, 5:10] = 1  # 50 px inside the true square
    pred[20:25, 20:30] = 1  # 50 px false positives
    pred[29, 29] = 255  # nodata
    art = _write(tmp_path / "mask.tif", pred, transform=src_tf @ Affine.translation(5, 5), crs="EPSG:32631", nodata=255)
    expect = TruthExpect.model_validate(
        {"kind": "mask", "label": "label.tif", "align": {"same_grid_as": "ref.tif"}, "positive": [2],
         "ignore": [0], "min_iou": 0.2}
    )  # fmt: skip
    answer = {
        "artifacts": [{"kind": "png", "role": "mask", "path": "x"}, {"kind": "cog", "role": "mask", "path": str(art)}]
    }
    score = score_truth(expect, answer, TruthEnv(data_root=tmp_path))
    m = score.metrics
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["iou"] == pytest.approx(50 / 150) and m["f1"] == pytest.approx(0.5)
    assert m["pixels"] == 30 * 30 - 1 and m["area_rel_error"] == pytest.approx(0.0)
    assert score.passed and score.value == pytest.approx(1 / 3)
    strict = expect.model_copy(update={"min_iou": 0.5})
    assert not score_truth(strict, answer, TruthEnv(data_root=tmp_path)).passed
    assert "no artifact" in score_truth(expect, {"artifacts": []}, TruthEnv(data_root=tmp_path)).detail
    no_ref = expect.model_copy(update={"align": expect.align.model_copy(update={"same_grid_as": None})})
    with pytest.raises(EvalDataError, match="cannot align"):
        score_truth(no_ref, answer, TruthEnv(data_root=tmp_path))


def test_label_on_grid_pixel_space_and_outside():
    label = read_raster_like(np.arange(16, dtype=np.int32).reshape(4, 4))
    target = GridRef(crs=None, transform=Affine.translation(2, 2), shape=(4, 4))
    out = label_on_grid(label, None, target)
    assert out[0, 0] == 10 and out[1, 1] == 15 and (out[2:, :] == OUTSIDE).all()
    with pytest.raises(EvalDataError, match="reference grid"):
        label_on_grid(label, GridRef(crs=None, transform=Affine.identity(), shape=(3, 3)), target)


def read_raster_like(data):
    from geovigie.evals.labels import RasterOnGrid

    return RasterOnGrid(data=data, grid=GridRef(crs=None, transform=Affine.identity(), shape=data.shape), nodata=None)


def test_classes_truth(tmp_path):
    label = np.array([[0, 1, 1, 2], [2, 2, 3, 3]], np.uint16)
    pred = np.array([[9, 4, 4, 2], [2, 3, 3, 6]], np.uint8)  # 4 -> 1, 2 -> 2, 3 -> 3; 6 cloud ignored
    _write(tmp_path / "lulc.tif", label)
    art = _write(tmp_path / "classes.tif", pred)
    expect = TruthExpect.model_validate(
        {"kind": "classes", "label": "lulc.tif", "class_map": {4: 1, 2: 2, 3: 3}, "ignore": [0],
         "predicted_ignore": [6], "min_accuracy": 0.8}
    )  # fmt: skip
    score = score_truth(expect, {"artifacts": [{"kind": "cog", "role": "mask", "path": str(art)}]}, TruthEnv(tmp_path))
    # compared: 6 px (label 0 and predicted cloud left out); wrong: label 2 predicted 3 at (1, 2)? no: (1,1)
    assert score.metrics["pixels"] == 6
    assert score.metrics["accuracy"] == pytest.approx(5 / 6) and score.passed
    assert score.metrics["iou_1"] == 1.0 and score.metrics["iou_3"] == pytest.approx(0.5)


def test_count_truth_with_boxes(tmp_path):
    (tmp_path / "boxes.csv").write_text("image_path,xmin,ymin,xmax,ymax,label\na,0,0,10,10,Tree\na,20,20,30,30,Tree\n"
                                        "a,40,40,50,50,Tree\na,60,60,70,70,Bush\n")  # fmt: skip
    collection = {
        "type": "FeatureCollection", "properties": {"crs": "pixel", "features_total": 3},
        "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
            [[x, x], [x + 8, x], [x + 8, x + 8], [x, x + 8], [x, x]]]}} for x in (1, 21, 80)],
    }  # fmt: skip
    (tmp_path / "pred.geojson").write_text(json.dumps(collection))
    expect = TruthExpect.model_validate(
        {"kind": "count", "boxes": {"path": "boxes.csv", "format": "csv", "classes": ["tree"]}, "max_rel_error": 0.1}
    )
    answer = {"figures": [{"name": "trees count", "value": 3}], "artifacts": [
        {"kind": "geojson", "role": "boxes", "path": str(tmp_path / "pred.geojson")}]}  # fmt: skip
    score = score_truth(expect, answer, TruthEnv(tmp_path))
    m = score.metrics
    assert m["count_truth"] == 3 and m["count_predicted"] == 3 and m["count_abs_error"] == 0 and score.passed
    assert m["det_precision"] == pytest.approx(2 / 3) and m["det_recall"] == pytest.approx(2 / 3)
    missing = score_truth(expect, {"figures": [], "artifacts": []}, TruthEnv(tmp_path))
    assert not missing.passed and "no count" in missing.detail


def test_box_formats(tmp_path):
    (tmp_path / "d.txt").write_text("imagesource:x\ngsd:0.3\n0 0 10 0 10 5 0 5 ship 0\n1 1 2 1 2 2 1 2 harbor 0\n")
    (tmp_path / "v.xml").write_text(
        "<annotation><object><name>Tree</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax>"
        "</bndbox></object></annotation>"
    )
    (tmp_path / "y.txt").write_text("0 0.5 0.5 0.5 0.25\n")
    ref = GridRef(crs=None, transform=Affine.identity(), shape=(100, 200))
    assert read_boxes(BoxesRef(path="d.txt", format="dota", classes=["ship"]), tmp_path, None) == [(0, 0, 10, 5)]
    assert read_boxes(BoxesRef(path="v.xml", format="voc"), tmp_path, None) == [(1, 2, 3, 4)]
    assert read_boxes(BoxesRef(path="y.txt", format="yolo"), tmp_path, ref) == [(50, 37.5, 150, 62.5)]
    with pytest.raises(EvalDataError, match="not found"):
        read_boxes(BoxesRef(path="none.csv", format="csv"), tmp_path, None)
    assert match_boxes([(0, 0, 2, 2), (0, 0, 2, 2)], [(0, 0, 5, 5)]) == 1


def test_georeferenced_geojson_boxes(tmp_path):
    tf = Affine(0.5, 0, 500_000, 0, -0.5, 4_000_000)
    _write(tmp_path / "img.tif", np.zeros((100, 100), np.uint8), transform=tf, crs="EPSG:32616")
    ring = [[500_005, 3_999_995], [500_010, 3_999_995], [500_010, 3_999_990], [500_005, 3_999_990]]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32616"}}
    feature = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    coll = {"type": "FeatureCollection", "crs": crs, "features": [feature]}
    (tmp_path / "b.geojson").write_text(json.dumps(coll))
    ref = read_raster(tmp_path / "img.tif").grid
    (box,) = read_boxes(BoxesRef(path="b.geojson", format="geojson"), tmp_path, ref)
    assert box == pytest.approx((10, 10, 20, 20))


def _result(outcome, scores, tags=("t",), latency=1.0, suite="s"):
    turns = [TurnRecord(question="q", answer={"status": "answered"}, latency_s=latency)]
    return CaseResult(suite=suite, case_id=f"c{latency}", tags=list(tags), outcome=outcome, scores=scores,
                      turns=turns, latency_s=latency, model_calls=2)  # fmt: skip


def test_summarise():
    results = [
        _result("passed", [Score(name="tools", passed=True, metrics={"tool_any_order": 1, "tool_in_order": 1}),
                           Score(name="args", passed=True, metrics={"args_expected": 2, "args_matched": 2}),
                           Score(name="truth:mask", passed=True, value=0.5, metrics={"iou": 0.5, "f1": 0.6}),
                           Score(name="decline", metrics={"expected": 0.0, "predicted": 0.0})], tags=["a"]),
        _result("failed", [Score(name="tools", passed=False, metrics={"tool_any_order": 1, "tool_in_order": 0}),
                           Score(name="args", passed=False, metrics={"args_expected": 2, "args_matched": 1}),
                           Score(name="truth:mask", passed=False, value=0.1, metrics={"iou": 0.1, "f1": 0.2}),
                           Score(name="decline", metrics={"expected": 0.0, "predicted": 1.0})], latency=3.0),
        _result("timeout", [], latency=60.0),
        CaseResult(suite="s", case_id="sk", outcome="skipped", reason="missing data: x"),
    ]  # fmt: skip
    m = summarise(results)
    assert (m["cases"], m["executed"], m["passed"], m["skipped"], m["timeout"]) == (4, 3, 1, 1, 1)
    assert m["pass_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert m["tool_accuracy"] == 0.5 and m["tool_in_order"] == 0.5 and m["arg_accuracy"] == 0.75
    assert m["mask_iou"] == pytest.approx(0.3) and m["mask_f1"] == pytest.approx(0.4) and m["n_mask_iou"] == 2
    assert m["abstention_precision"] == 0.0 and "abstention_recall" not in m
    assert m["latency_p50_s"] == 2.0  # the timeout is not a latency
    assert summarise_by_tag(results)["a"]["passed"] == 1
