"""The map's examples as the browser sends them: checked payloads, and questions that carry them to the agent."""

from __future__ import annotations

import json
from typing import Any

from geovigie.ui.chat import ChatController
from geovigie.ui.examples import MAP_QUESTION, MAX_EXAMPLES, parse_examples
from geovigie.ui.hooks import ChatHooks, UiOptions


def test_points_and_boxes_are_kept_and_malformed_entries_dropped() -> None:
    payload = json.dumps([
        {"label": " Water ", "point": [-0.7777, 38.1007]},
        {"label": "land", "box": [-0.78, 38.12, -0.77, 38.13]},
        {"label": "", "point": [1, 2]},  # no class
        {"label": "x", "point": [200, 2]},  # not a longitude
        {"label": "x", "box": [1, 2, 0, 3]},  # empty box
        {"label": "x", "point": ["a", 2]},
        {"label": "x", "point": [1, 2, 3]},
        {"label": "y" * 80, "point": [1.5, 2.5]},
        "not an object",
    ])  # fmt: skip
    got = parse_examples(payload)
    assert got == [
        {"label": "water", "point": [-0.7777, 38.1007]},
        {"label": "land", "box": [-0.78, 38.12, -0.77, 38.13]},
        {"label": "y" * 40, "point": [1.5, 2.5]},
    ]


def test_payloads_that_are_not_clicks_give_no_examples() -> None:
    assert parse_examples(None) == [] and parse_examples("") == [] and parse_examples("{not json") == []
    assert parse_examples(json.dumps({"label": "a", "point": [1, 2]})) == []  # an object, not a list
    assert parse_examples('[{"label": "a", "point": [NaN, 2]}]') == []
    many = json.dumps([{"label": "a", "point": [0.001 * i, 1.0]} for i in range(MAX_EXAMPLES + 50)])
    assert len(parse_examples(many)) == MAX_EXAMPLES


def _controller(tmp_path) -> tuple[ChatController, list[tuple[str, Any]]]:
    calls: list[tuple[str, Any]] = []

    def plain(question: str, thread_id: str) -> list[dict[str, Any]]:
        calls.append((question, None))
        return []

    def with_examples(question: str, thread_id: str, examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        calls.append((question, examples))
        return []

    hooks = ChatHooks(stream=plain, list_threads=lambda: [], thread_record=lambda _t: None, catalog=lambda: [],
                      ingest=lambda _p, _s: {}, status=lambda: {}, stream_examples=with_examples)  # fmt: skip
    return ChatController(hooks, UiOptions(work_dir=tmp_path)), calls


def test_clicked_points_go_with_the_next_questions_until_cleared(tmp_path) -> None:
    chat, calls = _controller(tmp_path)
    points = [{"label": "water", "point": [-0.7777, 38.1007]}, {"label": "land", "point": [-0.7757, 38.1275]}]
    chat.enqueue("map water vs land from my points", json.dumps(points))
    list(chat.run_queue([], None))
    chat.enqueue("and the vegetation?", None)  # the examples box did not say: the session keeps its points
    list(chat.run_queue([], None))
    chat.enqueue("flood extent here?", "[]")  # the panel was cleared
    list(chat.run_queue([], None))
    assert calls == [("map water vs land from my points", points), ("and the vegetation?", points),
                     ("flood extent here?", None)]  # fmt: skip


def test_map_from_examples_asks_for_the_class_map_with_the_points(tmp_path) -> None:
    chat, calls = _controller(tmp_path)
    points = [{"label": "forest", "point": [-1.6, 48.1]}, {"label": "fields", "point": [-1.5, 48.2]}]
    assert chat.enqueue_examples(json.dumps(points)) == ("", "")
    list(chat.run_queue([], None))
    assert calls == [(MAP_QUESTION, points)]


def test_the_map_offers_the_examples_panel_only_when_the_agent_takes_examples(tmp_path) -> None:
    chat, _ = _controller(tmp_path)
    artifact = {"kind": "png", "path": str(tmp_path / "a.png"), "bbox": [-0.78, 38.08, -0.73, 38.13], "role": "overlay"}
    with_panel, _ = chat.map_view([artifact])
    assert "geovigie-examples.js" in with_panel and "&quot;examples&quot;:true" in with_panel
    plain = ChatController(ChatHooks(**{**chat.hooks.__dict__, "stream_examples": None}), UiOptions(work_dir=tmp_path))
    assert "geovigie-examples.js" not in plain.map_view([artifact])[0]
