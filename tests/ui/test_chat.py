"""Chat handlers called directly (as Gradio calls them), on the real graph with the scripted planner."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from PIL import Image

from geovigie.core.errors import NoDataError
from geovigie.serving.api.ui_mount import build_hooks
from geovigie.ui.chat import INTERNAL_ERROR, ChatController
from geovigie.ui.data_panel import DataController
from geovigie.ui.hooks import ChatHooks, UiOptions


@pytest.fixture
def options(settings):
    return UiOptions(work_dir=settings.home / "ui", artifacts_dir=settings.resolved_artifacts_dir)


@pytest.fixture
def controller(ui_service, options):
    return ChatController(build_hooks(lambda: ui_service), options)


def _last(outputs):
    *_, final = outputs
    return final


def _answer(chat):
    """The message right under the latest question: the answer comes first, its steps and evidence after."""
    last_user = max(i for i, m in enumerate(chat) if m.role == "user")
    return chat[last_user + 1]


def test_a_turn_streams_tools_then_answer_map_and_downloads(controller):
    steps = list(controller.respond("Flood extent near Orihuela in September 2019?", [], None))
    first, final = steps[0], steps[-1]
    assert first[0][-1].role == "user" and first[2] == "" and len(first[3]) == 32  # new thread id
    pending = [m for step in steps for m in step[0] if m.metadata.get("status") == "pending"]
    assert pending, "tool messages are shown while the tools run"
    chat = final[0]
    assert _answer(chat).content.startswith("Flooded area near Orihuela on 2019-09-18:")
    assert not _answer(chat).metadata.get("title")  # the answer is plain text, not a collapsed step
    steps_done = [m for m in chat if m.metadata.get("title")]
    assert steps_done and all(m.metadata.get("status") == "done" for m in steps_done)
    assert all("item_id=" not in m.metadata["title"] for m in steps_done)  # words, not raw calls
    assert any(m.metadata["title"].startswith("✓ Mapping water: Water covers") for m in steps_done)
    answer_step = next(s for s in steps if isinstance(s[6], list))
    map_html, static, files = answer_step[4], answer_step[5], answer_step[6]
    assert "srcdoc=" in map_html and "leaflet.js" in map_html and Path(static).is_file()
    names = [Path(f).name for f in files]
    assert any(n.endswith("water-polygons.geojson") for n in names) and any(n.endswith(".tif") for n in names)
    geojson = json.loads(Path(next(f for f in files if f.endswith(".geojson"))).read_text())
    assert geojson["features"][0]["properties"]["class"] == "water"
    assert sum(n.startswith("geovigie-report-") for n in names) == 2
    threads = final[7]
    assert threads["value"] == first[3] and threads["choices"][0][1] == first[3]


def test_threads_continue_and_reopen(controller):
    steps = list(controller.respond("How many ships are in P0706.png?", [], "th-x"))
    again = _last(controller.respond("Count the ships again", steps[-1][1], "th-x"))
    assert [m.content for m in again[1] if m.role == "user"] == [
        "How many ships are in P0706.png?",
        "Count the ships again",
    ]
    reopened = controller.open_thread("th-x")
    assert reopened[3] == "th-x" and [m.content for m in reopened[0] if m.role == "user"] == [
        "How many ships are in P0706.png?",
        "Count the ships again",
    ]
    assert _answer(reopened[0]).content.startswith("I count 3 ships")
    assert "not georeferenced" in reopened[4]  # the pixel-only evidence cannot go on the map
    missing = controller.open_thread("nope")
    assert missing[0][0].content.startswith("⚠ The conversation nope no longer exists.")
    cleared = controller.new_thread()
    assert cleared[0] == [] and cleared[3] is None and "ask a question about a place" in cleared[4]


def _hooks(stream) -> ChatHooks:
    return ChatHooks(
        stream=stream,
        list_threads=list,
        thread_record=lambda _t: None,
        catalog=list,
        ingest=lambda _paths, _px: {},
        status=dict,
    )


def test_errors_become_sentences_never_tracebacks(options):
    def no_data(_q, _t):
        raise NoDataError("No scene covers Atlantis.", hint="Try another place.")
        yield {}

    def crash(_q, _t):
        raise RuntimeError("secret internals")
        yield {}

    chat = _last(ChatController(_hooks(no_data), options).respond("Atlantis?", [], None))[0]
    assert chat[-1].content == "⚠ No scene covers Atlantis. Try another place."
    chat = _last(ChatController(_hooks(crash), options).respond("boom", [], None))[0]
    assert chat[-1].content == "⚠ " + INTERNAL_ERROR and "secret" not in chat[-1].content
    assert list(ChatController(_hooks(crash), options).respond("   ", [], None))[0][0] is not None


def test_data_panel_lists_ingests_and_reports_status(ui_service, options, make_geotiff, tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # uploads are ingested only from Gradio's upload folder
    data = DataController(build_hooks(lambda: ui_service), options)
    table, catalog_map = data.catalog_view()
    assert sorted(r[0] for r in table) == ["P0706", "orchard-2020-06-01", "orihuela-s1-2019-09-18"]
    assert "leaflet.js" in catalog_map
    upload = make_geotiff(np.ones((3, 16, 16), dtype=np.uint16), name="my_scene.tif")
    message, table, _ = data.ingest([str(upload)])
    assert message.startswith("**Ingest:** 1 added") and len(table) == 4
    assert (ui_service.settings.home / "uploads" / "my_scene.tif").is_file()
    message, table, _ = data.ingest([str(upload)])  # the same file again: its item is reused
    assert message.startswith("**Ingest:** 0 added, 0 updated, 1 unchanged") and len(table) == 4
    photo = tmp_path / "harbour.png"
    Image.fromarray(np.full((20, 30, 3), 90, dtype=np.uint8)).save(photo)
    message, table, _ = data.ingest([str(photo)], 0.5)  # a pixel-size hint for a plain image
    row = next(r for r in table if "harbour" in r[0])
    assert message.startswith("**Ingest:** 1 added") and row[3] == 0.5, row
    assert data.ingest([])[0] == "Choose one or more GeoTIFF files first."
    status = data.status_view()
    assert "**Planner:** scripted" in status and "5 items" in status and "offline measurement" in status


def test_questions_queue_during_a_turn_and_stop_ends_it_between_steps(options):
    def stream(question, _thread):
        for i in range(3):
            yield {"type": "tool_started", "call_id": f"c{i}", "tool": "quicklook", "args": {}}
        yield {"type": "final", "answer": {"text": f"Answer to {question}", "notes": []}}

    controller = ChatController(_hooks(stream), options)
    assert controller.enqueue("first") == ("", "")  # nothing running: asked at once, no queue shown
    run = controller.run_queue([], None)
    next(run)  # the first question's turn has started
    assert controller.enqueue("second *bold*")[1].startswith("**Queued**")  # shown, and as plain text:
    assert "second \\*bold\\*" in controller.queue_markdown("direct")
    assert len(list(controller.run_queue([], None))) == 1  # a second runner returns at once: the first has it
    assert controller.stop() == "⏹ Stopping after the current step…"
    chat = _last(run)[0]
    assert chat[-1].content == "⏹ Stopped. 1 queued question(s) were not asked."
    assert not any("Answer to" in str(m.content) for m in chat)  # stopped before the answer
    assert controller.stop() == ""  # nothing running any more
    controller.enqueue("third")
    final = _last(controller.run_queue(chat, None))[0]
    assert _answer(final).content == "Answer to third"


def test_found_imagery_shows_its_footprints_and_follow_ups_keep_the_map(options):
    def stream(question, _thread):
        provenance = []
        if "imagery" in question:
            scenes = [{"item_id": "paris-2020"}, {"item_id": "elsewhere-unknown"}]
            provenance = [{"tool": "search_imagery", "scenes": scenes, "aoi_bbox": [2.2, 48.8, 2.5, 48.9]}]
        yield {"type": "final", "answer": {"text": f"Answer to {question}", "notes": [], "provenance": provenance}}

    rows = [{"id": "paris-2020", "datetime": "2020-06-01", "collection": "s2", "bbox": [2.1, 48.7, 2.6, 49.0]}]
    hooks = ChatHooks(
        stream=stream,
        list_threads=list,
        thread_record=lambda _t: None,
        catalog=lambda: rows,
        ingest=lambda _paths, _px: {},
        status=dict,
    )
    controller = ChatController(hooks, options)
    maps = [s[4] for s in controller.respond("What imagery do you have of Paris?", [], "t") if isinstance(s[4], str)]
    assert maps and "paris-2020 2020-06-01" in html.unescape(maps[-1]) and "Area of interest" in html.unescape(maps[-1])
    follow_up = [s[4] for s in controller.respond("show me the polygons", [], "t")]
    assert not any(isinstance(m, str) for m in follow_up)  # nothing new to show: the map is left as it was
