"""Pure rendering: a turn's events fold into collapsible tool messages, inline evidence and the answer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gradio import ChatMessage, Gallery, Image
from PIL import Image as PILImage

from geovigie.ui import render


@pytest.fixture
def png(tmp_path):
    def make(name: str) -> str:
        path = tmp_path / name
        PILImage.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(path)
        return str(path)

    return make


def _art(path: str, *, title: str, role: str, kind: str = "png") -> dict[str, Any]:
    return {"id": path.rsplit("/", 1)[-1], "kind": kind, "title": title, "role": role, "path": path, "bbox": None}


def _fold(history, events):
    for event in events:
        history = render.apply_event(history, event)
    return history


def test_turn_becomes_tool_messages_evidence_and_answer(png):
    quicklook = _art(png("q.png"), title="s2-2019-09-18 2019-09-18 true colour", role="quicklook")
    start = [ChatMessage(role="user", content="Flood near Orihuela?")]
    events = [
        {"type": "plan", "text": "", "tool_calls": [{"name": "quicklook"}]},
        {"type": "tool_started", "call_id": "c1", "tool": "quicklook", "args": {"item_id": "s2"}},
        {"type": "tool_progress", "call_id": "c1", "tool": "quicklook", "fraction": 0.5, "message": "reading"},
    ]
    mid = _fold(start, events)
    assert len(mid) == 2 and mid[1].metadata["status"] == "pending" and mid[1].metadata["log"] == "50% · reading"
    assert mid[1].metadata["title"] == "⚙ Rendering the image…"  # words, not the raw call
    assert "`quicklook`" in mid[1].content and '"item_id": "s2"' in mid[1].content  # the call, one click away
    done = _fold(
        mid,
        [
            {
                "type": "tool_finished",
                "call_id": "c1",
                "tool": "quicklook",
                "ok": True,
                "summary": "Quicklook of s2.",
                "duration_s": 0.41,
                "artifacts": [quicklook],
            },
            {"type": "tool_started", "call_id": "c2", "tool": "water_extent", "args": {"item_id": "s2"}},
            {
                "type": "tool_finished",
                "call_id": "c2",
                "tool": "water_extent",
                "ok": False,
                "summary": "Error: too cloudy",
                "duration_s": 0.1,
                "artifacts": [],
            },
            {"type": "answer", "text": "I could not map the flood."},
            {"type": "final", "answer": {"text": "I could not map the flood.", "notes": ["70 % cloud cover."]}},
        ],
    )
    assert len(start) == 1  # the input list is never modified
    answer, tool, evidence, failed = done[1:]  # the answer first, right under the question
    assert tool.metadata["status"] == "done" and tool.metadata["duration"] == 0.41 and "log" not in tool.metadata
    assert (
        tool.content.startswith("Quicklook of s2.")
        and tool.metadata["title"] == "✓ Rendering the image: Quicklook of s2."
    )
    assert isinstance(evidence.content, Image)
    assert evidence.content.constructor_args["label"] == quicklook["title"]
    assert failed.metadata["title"] == "⚠ Mapping water failed: Error: too cloudy"
    assert failed.content.startswith("**Failed:** Error")
    assert answer.content.startswith("I could not map the flood.") and "> - 70 % cloud cover." in answer.content


def test_call_ids_match_within_the_current_turn_only():
    first = _fold(
        [ChatMessage(role="user", content="one")],
        [
            {"type": "tool_started", "call_id": "q", "tool": "quicklook", "args": {}},
            {
                "type": "tool_finished",
                "call_id": "q",
                "tool": "quicklook",
                "ok": True,
                "summary": "first",
                "duration_s": 1.0,
            },
        ],
    )
    second = _fold(
        [*first, ChatMessage(role="user", content="two")],
        [
            {"type": "tool_started", "call_id": "q", "tool": "quicklook", "args": {}},
            {
                "type": "tool_finished",
                "call_id": "q",
                "tool": "quicklook",
                "ok": True,
                "summary": "second",
                "duration_s": 2.0,
            },
        ],
    )
    assert [m.content.split("\n")[0] for m in second if m.metadata.get("title")] == ["first", "second"]


def test_before_after_pair_is_a_two_column_gallery_with_dated_captions(png):
    before = _art(png("b.png"), title="oscd-bordeaux 2016-05-04 before", role="before")
    after = _art(png("a.png"), title="oscd-bordeaux 2017-08-01 after", role="after")
    mask = _art("/x/m.tif", title="new buildings mask", role="mask", kind="cog")
    message = render.evidence_message([before, after, mask])
    assert message is not None
    assert isinstance(message.content, list)
    gallery, listing = message.content
    assert isinstance(gallery, Gallery) and gallery.constructor_args["columns"] == 2
    captions = [c for _, c in gallery.constructor_args["value"]]
    assert captions == [before["title"], after["title"]]
    assert isinstance(listing, str) and "new buildings mask (GeoTIFF (COG))" in listing
    assert render.evidence_message([]) is None


def test_plan_text_goes_into_the_tool_call_it_led_to():
    assert render.plan_message({"type": "plan", "text": "Final words.", "tool_calls": []}) is None
    chat = _fold(
        [ChatMessage(role="user", content="Paris?")],
        [
            {"type": "plan", "text": "Search first.", "tool_calls": [{"name": "search_imagery"}]},
            {"type": "tool_started", "call_id": "s", "tool": "search_imagery", "args": {"bbox": [1, 2, 3, 4]}},
            {
                "type": "tool_finished",
                "call_id": "s",
                "tool": "search_imagery",
                "ok": True,
                "summary": "4 scenes.",
                "duration_s": 0.2,
            },
        ],
    )
    assert len(chat) == 2 and chat[1].metadata["title"] == "✓ Finding imagery: 4 scenes."
    assert chat[1].content.startswith("4 scenes.\n\n*Search first.*")


def test_history_from_a_stored_thread(png):
    payload = {
        "text": "Water covers 2.1 km².",
        "language": "en",
        "notes": [],
        "trace": [
            {"tool": "water_extent", "args": {"item_id": "s1"}, "ok": True, "summary": "2.1 km²", "duration_s": 3}
        ],
        "artifacts": [_art(png("o.png"), title="overlay 2019-09-18", role="overlay")],
    }
    record = {
        "messages": [
            {"role": "user", "content": "Flood?", "payload": {}},
            {"role": "assistant", "content": payload["text"], "payload": payload},
        ]
    }
    chat = render.history_from_record(record)
    assert [m.role for m in chat] == ["user", "assistant", "assistant", "assistant"]
    assert chat[1].content == "Water covers 2.1 km²." and not chat[1].metadata.get("title")  # answer first
    assert chat[2].metadata["title"] == "✓ Mapping water: 2.1 km²" and chat[2].metadata["status"] == "done"
    assert isinstance(chat[3].content, Image)
    assert render.last_answer(record) == payload
    assert render.last_answer({"messages": []}) is None


def test_threads_catalog_ingest_and_status_text():
    choices = render.thread_choices([{"id": "t1", "title": "x" * 80, "updated_at": "2026-01-02T03:04:05"}])
    assert choices == [("x" * 59 + "… · 2026-01-02 03:04", "t1")]
    table = render.catalog_table(
        [
            {"id": "a", "datetime": "2019-09-18T10:00:00Z", "collection": "s2", "gsd": 10.0, "bbox": [1, 2, 3, 4]},
            {"id": "b", "datetime": None, "collection": "dota", "gsd": None, "bbox": None},
        ]
    )
    assert table[0][:4] == ["a", "2019-09-18", "s2", 10.0] and table[1][1] == "unknown"
    assert table[1][4] == "not georeferenced" and len(render.CATALOG_HEADERS) == len(table[0])
    text = render.ingest_markdown({"added": ["x"], "skipped": [{"path": "/u/bad.tif", "reason": "unreadable"}]})
    assert text.startswith("**Ingest:** 1 added, 0 updated, 0 unchanged, 1 skipped.") and "unreadable" in text
    status = render.status_markdown({"planner": "offline", "interpreter": "measure", "catalog_items": 12})
    assert "**Planner:** offline" in status and "12 items" in status and "none configured (offline)" in status
    assert "country outlines" in status and "GEOVIGIE_UI_TILES_URL" in status  # the basemap and how to go online
    online = render.status_markdown({"tiles_url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png"})
    assert "online tiles from `https://tile.openstreetmap.org/{z}/{x}/{y}.png`" in online
    apis = [{"url": "https://a/v1", "ok": True}, {"url": "https://b/v1", "ok": False, "detail": "ConnectError"}]
    status = render.status_markdown({"stac_apis": apis})
    assert "`https://a/v1` reachable; `https://b/v1` unreachable (ConnectError)" in status


def test_side_by_side_replaces_the_pair_and_notes_are_not_repeated(png):
    arts = [
        _art(png("b.png"), title="before 2016", role="before"),
        _art(png("a.png"), title="after 2017", role="after"),
        _art(png("s.png"), title="2016 | 2017", role="side_by_side"),
        _art(png("o.png"), title="change 2016 to 2017", role="overlay"),
    ]
    message = render.evidence_message(arts)
    assert message is not None and isinstance(message.content, list)
    labels = [c.constructor_args["label"] for c in message.content if isinstance(c, Image)]
    assert labels == ["2016 | 2017", "change 2016 to 2017"]
    text = render.answer_markdown(
        {"text": "Grew.\n\n**Notes**: bbox from population.", "notes": ["bbox from population."]}
    )
    assert text == "Grew.\n\n> **Notes**\n> - bbox from population."  # one Notes block, not two
    both = render.answer_markdown(
        {"text": "Grew.\n\n**Notes**: Coarse pixels.", "notes": ["Cloud 12 %.", "Coarse pixels."], "language": "en"}
    )
    assert both.count("Notes") == 1 and "> - Coarse pixels.\n> - Cloud 12 %." in both
