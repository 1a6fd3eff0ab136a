"""Metadata shown in the chat is text (finding 10): no remote image loads, hostile ids stay visible."""

from __future__ import annotations

from markdown_it import MarkdownIt

from geovigie.ui import render

BEACON = "![x](http://127.0.0.1:9/beacon.png)"
HOSTILE_ID = f"S2_<b>evil</b>_{BEACON}_[click](http://evil.example)"


def _html(markdown: str) -> str:
    # CommonMark with raw HTML enabled, as a permissive chat renderer would do.
    return MarkdownIt("commonmark", {"html": True}).render(markdown)


def _shown(message) -> str:
    return message.content if isinstance(message.content, str) else ""


def test_tool_summaries_titles_and_answers_cannot_load_images_or_hide_ids():
    started = {"type": "tool_started", "tool": "search_imagery", "call_id": "c1", "args": {"q": "x"}}
    finished = {
        "type": "tool_finished",
        "tool": "search_imagery",
        "call_id": "c1",
        "ok": True,
        "summary": f"Found item {HOSTILE_ID}.",
        "duration_s": 0.1,
        "artifacts": [{"id": "a.geojson", "kind": "geojson", "title": HOSTILE_ID, "path": "/x/a.geojson"}],
    }
    answer = {"text": f"**Bordeaux**: 45.7 ha, measured on {HOSTILE_ID}.", "notes": [f"See {BEACON}"]}
    chat = render.apply_event([], started)
    chat = render.apply_event(chat, finished)
    chat = render.apply_event(chat, {"type": "answer", "text": answer["text"]})
    chat = render.apply_event(chat, {"type": "final", "answer": answer})
    pages = [_html(_shown(m)) for m in chat] + [_html(str((m.metadata or {}).get("title", ""))) for m in chat]
    page = "\n".join(pages)
    assert "<img" not in page and "<a " not in page and "<b>" not in page
    assert "&lt;b&gt;evil&lt;/b&gt;" in page  # the id is shown, not swallowed as markup
    assert "<strong>Bordeaux</strong>" in page  # the answer keeps its own formatting


def test_ingest_and_catalog_text_is_escaped():
    report = {"added": [HOSTILE_ID], "updated": [], "unchanged": [], "skipped": [{"path": BEACON, "reason": BEACON}]}
    page = _html(render.ingest_markdown(report))
    assert "<img" not in page and "<a " not in page
    assert "evil" in page
