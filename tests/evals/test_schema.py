"""Suite schema: validation rules, matcher parsing, includes, defaults, JSON schema, shipped suites."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from geovigie.core.errors import ConfigError
from geovigie.evals.loader import expand_suite_paths, load_suite, planner_case, resolve_data_path, resolve_data_root
from geovigie.evals.schema import (
    Absent,
    BBoxIoU,
    Case,
    DateNear,
    Expect,
    Suite,
    ToolCallExpect,
    TruthExpect,
    json_schema,
    main,
)

SUITES = Path(__file__).resolve().parents[2] / "evals" / "suites"


def test_case_needs_exactly_one_of_question_or_conversation():
    with pytest.raises(ValidationError, match="exactly one of question or conversation"):
        Case(id="x")
    with pytest.raises(ValidationError, match="exactly one of question or conversation"):
        Case.model_validate({"id": "x", "question": "q", "conversation": [{"question": "a"}]})
    with pytest.raises(ValidationError, match="empty conversation"):
        Case.model_validate({"id": "x", "conversation": []})


def test_data_strings_become_path_refs_and_refs_name_one_thing():
    case = Case.model_validate({"id": "c", "question": "q", "data": ["oscd/paris", {"item": "abc"}]})
    assert [(r.path, r.item) for r in case.data] == [("oscd/paris", None), (None, "abc")]
    with pytest.raises(ValidationError, match="exactly one of path or item"):
        Case.model_validate({"id": "c", "question": "q", "data": [{"path": "a", "item": "b"}]})


def test_argument_matchers_are_parsed_by_their_key():
    call = ToolCallExpect.model_validate(
        {
            "tool": "search_imagery",
            "args": {
                "bbox": {"bbox": [0, 0, 1, 1], "min_iou": 0.4},
                "start": {"date": "2019-09-18", "days": 2},
                "end": {"absent": True},
                "limit": 10,
                "query": "Nantes",
            },
        }
    )
    assert isinstance(call.args["bbox"], BBoxIoU) and call.args["bbox"].min_iou == 0.4
    assert isinstance(call.args["start"], DateNear) and call.args["start"].days == 2
    assert isinstance(call.args["end"], Absent)
    assert call.args["limit"] == 10 and call.args["query"] == "Nantes"
    with pytest.raises(ValidationError):
        ToolCallExpect.model_validate({"tool": "t", "args": {"x": {"unknown_matcher": 1}}})


def test_truth_requires_its_reference():
    with pytest.raises(ValidationError, match="needs a label raster"):
        TruthExpect(kind="mask")
    with pytest.raises(ValidationError, match="class_map"):
        TruthExpect(kind="classes", label="l.tif")
    with pytest.raises(ValidationError, match="count or boxes"):
        TruthExpect(kind="count")
    assert TruthExpect(kind="count", count=3).selector().kind == "geojson"
    assert TruthExpect(kind="mask", label="l.tif").selector().role == "mask"


def test_case_expectation_joins_the_last_turn():
    case = Case.model_validate(
        {
            "id": "conv",
            "conversation": [
                {"question": "a", "expect": {"status": "answered"}},
                {"question": "b", "expect": {"status": "clarify"}},
            ],  # noqa: E501
            "expect": {"text": {"must_contain": ["x"]}},
        }
    )
    turns = case.turns()
    assert turns[0].expect.status == "answered" and turns[0].expect.text is None
    assert turns[1].expect.status == "clarify" and turns[1].expect.text is not None
    assert Expect().is_empty() and not turns[1].expect.is_empty()


def test_duplicate_ids_are_rejected(tmp_path):
    with pytest.raises(ValidationError, match="duplicate case id"):
        Suite.model_validate({"name": "s", "cases": [{"id": "a", "question": "q"}, {"id": "a", "question": "r"}]})
    (tmp_path / "inc.jsonl").write_text(json.dumps({"id": "a", "question": "q"}) + "\n")
    (tmp_path / "s.yaml").write_text("name: s\ncases: [{id: a, question: q}]\ninclude: [{path: inc.jsonl}]\n")
    with pytest.raises(ConfigError, match="repeats case ids"):
        load_suite(tmp_path / "s.yaml")


def test_defaults_and_included_cases(tmp_path):
    (tmp_path / "more.jsonl").write_text(
        json.dumps({"id": "b", "question": "q2", "tags": ["t2"]}) + "\n" + json.dumps({"id": "c", "question": "q3"})
    )
    (tmp_path / "s.yaml").write_text(
        "name: s\ndefaults: {today: 2024-02-03, timeout_s: 9, tags: [base]}\n"
        "cases: [{id: a, question: q, today: 2020-01-01}]\n"
        "include: [{path: more.jsonl, tags: [inc], limit: 1}]\n"
    )
    loaded = load_suite(tmp_path / "s.yaml")
    assert [c.id for c in loaded.cases] == ["a", "b"]
    a, b = loaded.cases
    assert str(a.today) == "2020-01-01" and str(b.today) == "2024-02-03" and b.timeout_s == 9
    assert b.tags == ["base", "inc", "t2"]


def test_invalid_files_raise_config_errors(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(tmp_path / "bad.yaml")
    (tmp_path / "wrong.yaml").write_text("name: s\ncases: [{id: a}]\n")
    with pytest.raises(ConfigError, match="does not match the schema"):
        load_suite(tmp_path / "wrong.yaml")
    with pytest.raises(ConfigError, match="No suite file matches"):
        expand_suite_paths([str(tmp_path / "none*.yaml")])


def test_planner_rows_become_tool_call_cases():
    row: dict[str, Any] = {
        "id": "en-flood-01", "question": "Which areas were flooded around Orihuela on 18 September 2019?",
        "lang": "en", "today": "2025-06-15", "covered": True, "world": {"search": ["empty"]},
        "expected": {"intent": "water_flood", "first_call": {"tool": "geocode", "args": {"query": "Orihuela"}},
                     "calls": ["geocode", "search_imagery", "search_imagery", "detect_change"],
                     "dates": {"before": {"start": "2019-07-20", "end": "2019-09-17"},
                               "after": {"start": "2019-09-18", "end": "2019-09-18"}},
                     "object": None, "clarify": False, "abstain": False},
    }  # fmt: skip
    case = planner_case(row)
    tools = case.expect.tools
    assert tools is not None and tools.sequence == row["expected"]["calls"]
    assert [(c.tool, c.index, c.nth) for c in tools.calls] == [
        ("geocode", 0, None), ("search_imagery", None, 0), ("search_imagery", None, 1)
    ]  # fmt: skip
    after = tools.calls[2].args["start"]
    assert isinstance(after, DateNear) and str(after.date) == "2019-09-18" and after.days == 1
    assert case.stub_tools == {"search": ["empty"]} and case.expect.status == "answered"
    assert set(case.tags) >= {"lang:en", "split:dev", "intent:water_flood", "covered"}
    empty = planner_case({**row, "question": " ", "expected": {**row["expected"], "clarify": True}})
    assert empty.expect.status == ["clarify", "error"]


def test_data_paths_and_roots(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x_B02.tif").write_bytes(b"")
    (tmp_path / "a" / "x_B03.tif").write_bytes(b"")
    assert resolve_data_path(tmp_path, "a/*_B02.tif") == tmp_path / "a" / "x_B02.tif"
    assert resolve_data_path(tmp_path, "a/*.tif") is None  # ambiguous
    assert resolve_data_path(tmp_path, "a/none.tif") is None
    (tmp_path / "s.yaml").write_text("name: s\ndata_root: a\ncases: []\n")
    loaded = load_suite(tmp_path / "s.yaml")
    assert resolve_data_root(loaded, None, Path("/elsewhere")) == (tmp_path / "a").resolve()
    assert resolve_data_root(loaded, tmp_path, Path("/elsewhere")) == tmp_path.resolve()


def test_json_schema_export(tmp_path):
    schema = json_schema()
    assert schema["title"] == "GeoVigie evaluation suite"
    names = set(schema["$defs"])
    assert {"Case", "Expect", "TruthExpect", "ToolCallExpect", "BBoxIoU", "DateNear"} <= names
    out = tmp_path / "schema.json"
    assert main([str(out)]) == 0
    assert json.loads(out.read_text())["properties"]["cases"]["type"] == "array"
    shipped = json.loads((SUITES / "suite.schema.json").read_text())
    assert shipped == schema, "evals/suites/suite.schema.json is stale: run python -m geovigie.evals.schema"


def test_shipped_suites_load():
    loaded = {p.stem: load_suite(p) for p in expand_suite_paths([str(SUITES)])}
    assert {"smoke", "change", "flood", "landcover", "counting", "planner"} <= set(loaded)
    planner = loaded["planner"].cases
    langs = {t for c in planner for t in c.tags if t.startswith("lang:")}
    assert len(planner) >= 150 and langs == {"lang:en", "lang:fr"}
    assert all(c.stub_tools is not None for c in planner)
    change = loaded["change"].cases
    oscd = [c for c in change if "oscd" in c.tags]
    assert len({c.data[0].path for c in oscd}) == 8
    assert all(c.expect.truth is not None and c.expect.truth.align.same_grid_as for c in oscd)
