import pytest

from geovigie.agent.offline.decisions import ALLOWED_TOOLS, ToolCall, is_fixable, record_result, repair_args


def test_only_whitelisted_tools_can_be_called():
    assert ToolCall("geocode", {"query": "Nantes"}).tool == "geocode"
    for name in ("delete_all", "shell", "exfiltrate", ""):
        with pytest.raises(ValueError):
            ToolCall(name, {})
    assert ALLOWED_TOOLS == {
        "geocode", "search_imagery", "quicklook", "segment", "count_objects", "detect_change", "ask_image",
        "find_similar", "map_from_examples",
    }  # fmt: skip


def test_record_result_reads_graph_records_and_plain_results():
    assert record_result({"output": {"result": {"count": 3}}}) == {"count": 3}
    assert record_result({"result": {"count": 4}}) == {"count": 4}
    assert record_result({"ok": False, "error": "x"}) == {}


def test_fixable():
    assert is_fixable({"ok": False, "error_type": "ToolInputError"})
    assert not is_fixable({"ok": False, "error_type": "NoDataError"})
    assert not is_fixable({"ok": True, "error_type": "ToolInputError"})


def test_repair_shrinks_a_too_large_area():
    args = {"item_id": "a", "bbox": [0.0, 0.0, 4.0, 2.0]}
    fixed = repair_args(args, "The area of interest is too large (120 km2 exceeds 25 km2).")
    assert fixed == {"item_id": "a", "bbox": [1.0, 0.5, 3.0, 1.5]}


def test_repair_orders_bbox_and_dates_and_clamps_cloud():
    fixed = repair_args({"bbox": [3, 2, 1, 0], "start": "2020-05-01", "end": "2020-01-01", "max_cloud": 150}, "bad")
    assert fixed == {"bbox": [1.0, 0.0, 3.0, 2.0], "start": "2020-01-01", "end": "2020-05-01", "max_cloud": 100.0}


def test_repair_drops_rejected_arguments():
    fixed = repair_args({"item_id": "a", "colour": "red"}, "colour: Extra inputs are not permitted")
    assert fixed == {"item_id": "a"}


def test_nothing_to_repair():
    assert repair_args({"item_id": "a", "bbox": [0.0, 0.0, 1.0, 1.0]}, "Band B11 missing") is None
