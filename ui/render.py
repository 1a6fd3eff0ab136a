"""Pure rendering: agent events and answers -> chat messages and Markdown (no Gradio state, no I/O).

The chat is a list of :class:`gradio.ChatMessage`. :func:`apply_event` folds one streamed event into that list
and returns a new list, so a turn is ``reduce(apply_event, events, history)``: tool calls become collapsible
messages (pending -> done, with duration and summary), PNG evidence becomes images shown inline, and the
answer closes the turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import gradio as gr

Event = Mapping[str, Any]
Artifact = Mapping[str, Any]

_KIND_LABELS = {"geojson": "GeoJSON", "cog": "GeoTIFF (COG)", "png": "PNG", "json": "JSON"}
PLAN_TITLE = "◆ Plan"


TOOL_LABELS = {
    "search_imagery": "Finding imagery",
    "geocode": "Locating the place",
    "quicklook": "Rendering the image",
    "segment": "Mapping the surface",
    "detect_change": "Comparing dates",
    "count_objects": "Counting objects",
    "ask_image": "Reading the image",
    "run_playbook": "Running the analysis",
    "water_extent": "Mapping water",
}
"""What each tool does, in words: step titles say this, the call's arguments are one click away."""
_TITLE_SUMMARY_CHARS = 110


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+!|~>-])")


def escape_markdown(text: str) -> str:
    """Metadata (ids, titles, summaries, paths) as literal text: no Markdown, no HTML, no remote image or link.

    Catalog metadata comes from files and remote STAC APIs: an id like ``![x](http://host/beacon)`` would load
    a remote image in the browser, and ``<b>`` would vanish in Gradio's HTML sanitizer.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text).replace("&", "&amp;").replace("<", "&lt;"))


def neutralize_markdown(text: str) -> str:
    """Text whose formatting is kept (bold, lists, quotes) but where HTML, images and links cannot act.

    Used for answer texts, which are Markdown by design but quote metadata: ``<`` and ``&`` become entities and
    ``[`` / ``]`` are escaped, so ``![..](..)`` and ``[..](..)`` stay text.
    """
    out = str(text).replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"([\[\]])", r"\\\1", out)


def _code(text: object) -> str:
    """Metadata shown as inline code (backticks inside cannot close it early)."""
    value = str(text).replace("\n", " ")
    fence = "``" if "`" in value else "`"
    return f"{fence} {value} {fence}" if fence == "``" else f"`{value}`"


def _first_sentence(text: str, limit: int = _TITLE_SUMMARY_CHARS) -> str:
    line = " ".join(text.split())
    cut = re.search(r"(?<=[.!?])\s", line)
    line = line[: cut.start()] if cut else line
    return line if len(line) <= limit else line[: limit - 1] + "…"


def tool_title(tool: str, args: Mapping[str, Any], *, ok: bool = True, summary: str = "") -> str:
    """The one-line title of a tool step: what it does in words, then (when done) its result's first sentence.

    The tool's name and arguments stay in the collapsed body; ``args`` is unused here on purpose.
    """
    del args
    label = TOOL_LABELS.get(tool, tool.replace("_", " ").capitalize())
    if not summary:
        return f"⚙ {label}…" if ok else f"⚠ {label} failed"
    first = escape_markdown(_first_sentence(summary))
    return f"✓ {label}: {first}" if ok else f"⚠ {label} failed: {first}"


def tool_started(event: Event) -> gr.ChatMessage:
    """A pending, collapsible message for a tool call that just started."""
    args = event.get("args") or {}
    call = f"`{event['tool']}`"
    body = f"{call}\n```json\n{json.dumps(args, indent=1, ensure_ascii=False, default=str)}\n```" if args else call
    return gr.ChatMessage(
        role="assistant",
        content=body,
        metadata={"title": tool_title(event["tool"], args), "id": event["call_id"], "status": "pending"},
    )


def progress_log(event: Event) -> str:
    """The progress line of a long tool call, e.g. ``42% · tile 3/8``."""
    fraction = max(0.0, min(1.0, float(event.get("fraction", 0.0))))
    message = str(event.get("message", "")).strip()
    return f"{fraction:.0%} · {message}" if message else f"{fraction:.0%}"


def tool_finished(started: gr.ChatMessage | None, event: Event) -> gr.ChatMessage:
    """The done state of a tool message: its summary (or error), its duration and its arguments."""
    ok = bool(event.get("ok", True))
    args_block = started.content if started is not None and isinstance(started.content, str) else ""
    summary = str(event.get("summary", "")).strip()
    body = escape_markdown(summary) if ok else f"**Failed:** {escape_markdown(summary)}"
    if args_block:
        body = f"{body}\n\n{args_block}"
    title = tool_title(event["tool"], event.get("args") or {}, ok=ok, summary=summary)
    return gr.ChatMessage(
        role="assistant",
        content=body,
        metadata={
            "title": title,
            "id": event["call_id"],
            "status": "done",
            "duration": round(float(event.get("duration_s", 0.0)), 2),
        },
    )


def _images(artifacts: Sequence[Artifact]) -> list[Artifact]:
    return [a for a in artifacts if a.get("kind") == "png" and a.get("path")]


def _chat_images(artifacts: Sequence[Artifact]) -> list[Artifact]:
    images = _images(artifacts)
    roles = {a.get("role") for a in images}
    if "side_by_side" in roles:
        # The side-by-side picture already shows both dates: do not repeat them.
        images = [a for a in images if a.get("role") not in ("before", "after")]
    return images


def evidence_message(artifacts: Sequence[Artifact]) -> gr.ChatMessage | None:
    """Images shown inline, captioned by their titles (which carry the dates).

    A before/after pair is a two-column gallery; other images are shown one under the other. Non-image
    artifacts (GeoJSON, COG masks) are listed under the images; they are downloadable from the Downloads
    panel. Returns None when there is nothing to show.
    """
    images = _chat_images(artifacts)
    others = [a for a in artifacts if a.get("kind") != "png"]
    content: list[Any] = []
    if len(images) == 2 and {a.get("role") for a in images} == {"before", "after"}:
        content.append(
            gr.Gallery(
                value=[(a["path"], a.get("title") or a.get("role") or "") for a in images],
                columns=2,
                object_fit="contain",
                height="auto",
                label="before / after",
                show_label=True,
            )
        )
    else:
        content += [
            gr.Image(value=a["path"], label=a.get("title") or a.get("role"), show_label=True, height=320)
            for a in images
        ]
    if others:
        lines = [
            f"↓ {escape_markdown(str(a.get('title') or a.get('id')))} "
            f"({_KIND_LABELS.get(str(a.get('kind')), a.get('kind'))})"
            for a in others
        ]
        content.append("\n".join(lines))
    if not content:
        return None
    return gr.ChatMessage(role="assistant", content=content if len(content) > 1 else content[0])


def plan_message(event: Event) -> gr.ChatMessage | None:
    """The planner's reasoning, when it gave any (tool calls are shown by their own messages)."""
    text = str(event.get("text") or "").strip()
    if not text or not event.get("tool_calls"):
        return None
    return gr.ChatMessage(
        role="assistant", content=neutralize_markdown(text), metadata={"title": PLAN_TITLE, "status": "done"}
    )


_NOTES_PARAGRAPH = re.compile(r"\n*\*\*(?:Notes|Remarques)\*\*\s*:?\s*(.+?)(?=\n\n|\Z)", re.S)


def answer_markdown(answer: Mapping[str, Any]) -> str:
    """The answer text followed by one block of caveats: the text's own notes paragraph and the answer's notes."""
    text = neutralize_markdown(str(answer.get("text", "")).strip())
    # The planner may already end its text with a "**Notes**:" paragraph: fold it into the one block.
    inline = [m.group(1).strip() for m in _NOTES_PARAGRAPH.finditer(text)]
    text = _NOTES_PARAGRAPH.sub("", text).strip()
    notes = [n for n in inline if n]
    notes += [
        neutralize_markdown(str(n)) for n in answer.get("notes", []) if str(n).strip() and str(n).strip() not in text
    ]
    notes = [n for n in dict.fromkeys(notes) if not any(n != o and n in o for o in notes)]
    if notes:
        label = "Remarques" if answer.get("language") == "fr" else "Notes"
        text += f"\n\n> **{label}**\n" + "\n".join(f"> - {n}" for n in notes)
    return text


def error_message(message: str) -> gr.ChatMessage:
    """A friendly error shown in the chat (never a traceback)."""
    return gr.ChatMessage(role="assistant", content=f"⚠ {message.strip()}")


def _turn_start(history: Sequence[gr.ChatMessage]) -> int:
    for index in range(len(history) - 1, -1, -1):
        if history[index].role == "user":
            return index + 1
    return 0


def _find_tool(history: Sequence[gr.ChatMessage], call_id: str, start: int) -> int | None:
    # Search only the current turn: scripted or small planners reuse call ids from one turn to the next.
    for index in range(len(history) - 1, start - 1, -1):
        meta = history[index].metadata or {}
        if meta.get("id") == call_id and meta.get("title"):
            return index
    return None


def apply_event(history: Sequence[gr.ChatMessage], event: Event) -> list[gr.ChatMessage]:
    """Fold one streamed agent event into the chat; returns a new list (the input is not modified)."""
    out = list(history)
    kind = event.get("type")
    start = _turn_start(out)
    if kind == "plan":
        message = plan_message(event)
        if message is not None:
            out.append(message)
    elif kind == "tool_started":
        message = tool_started(event)
        if len(out) > start and out[-1].metadata.get("title") == PLAN_TITLE:
            # The planner's note travels inside the first tool call it led to: one line per step, not two.
            plan = out.pop()
            message.content = f"*{plan.content}*\n\n{message.content}".strip()
        out.append(message)
    elif kind == "tool_progress":
        index = _find_tool(out, str(event["call_id"]), start)
        if index is not None:
            old = out[index]
            out[index] = gr.ChatMessage(
                role=old.role, content=old.content, metadata={**old.metadata, "log": progress_log(event)}
            )
    elif kind == "tool_finished":
        index = _find_tool(out, str(event["call_id"]), start)
        done = tool_finished(out[index] if index is not None else None, event)
        if index is None:
            out.append(done)
        else:
            out[index] = done
        evidence = evidence_message(event.get("artifacts") or [])
        if evidence is not None:
            out.append(evidence)
    elif kind == "answer":
        out.append(gr.ChatMessage(role="assistant", content=neutralize_markdown(str(event.get("text", "")))))
    elif kind == "final":
        out = _close_turn(out, event["answer"], start)
    return out


def _close_turn(out: list[gr.ChatMessage], answer: Mapping[str, Any], start: int) -> list[gr.ChatMessage]:
    # The answer goes first, right under the question; the steps and evidence that led to it follow.
    text = neutralize_markdown(str(answer.get("text", "")).strip())
    for index in range(len(out) - 1, start - 1, -1):
        message = out[index]
        if not (message.metadata or {}).get("title") and message.content == text:
            del out[index]  # the streamed answer text, replaced by the complete one above the steps
            break
    out.insert(start, gr.ChatMessage(role="assistant", content=answer_markdown(answer)))
    return out


def history_from_record(record: Mapping[str, Any]) -> list[gr.ChatMessage]:
    """Rebuild a stored thread's chat: questions, tool steps (done), evidence images and answers."""
    out: list[gr.ChatMessage] = []
    for message in record.get("messages", []):
        if message.get("role") == "user":
            out.append(gr.ChatMessage(role="user", content=str(message.get("content", ""))))
            continue
        payload = message.get("payload") or {}
        text = answer_markdown(payload) if payload else str(message.get("content", ""))
        out.append(gr.ChatMessage(role="assistant", content=text))  # the answer first, as in a live turn
        for i, step in enumerate(payload.get("trace", [])):
            out.append(
                tool_finished(
                    None,
                    {
                        "call_id": f"past-{len(out)}-{i}",
                        "tool": step.get("tool", "?"),
                        "args": step.get("args", {}),
                        "ok": step.get("ok", True),
                        "summary": step.get("summary", ""),
                        "duration_s": step.get("duration_s", 0.0),
                    },
                )
            )
        evidence = evidence_message(payload.get("artifacts", []))
        if evidence is not None:
            out.append(evidence)
    return out


def last_answer(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The structured answer of a thread's latest assistant message, if any."""
    for message in reversed(record.get("messages", [])):
        payload = message.get("payload") or {}
        if message.get("role") == "assistant" and payload:
            return dict(payload)
    return None


def thread_choices(threads: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """Dropdown choices ``(label, thread id)`` for recent threads, newest first."""
    choices = []
    for thread in threads:
        title = str(thread.get("title") or thread["id"]).strip().replace("\n", " ")
        title = title if len(title) <= 60 else title[:59] + "…"
        when = str(thread.get("updated_at", ""))[:16].replace("T", " ")
        choices.append((f"{title} · {when}" if when else title, str(thread["id"])))
    return choices


def catalog_table(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Catalog rows for the data table: id, date, collection, ground sample distance (m), bbox."""
    table = []
    for row in rows:
        bbox = row.get("bbox")
        bbox_text = ", ".join(f"{v:.4f}" for v in bbox) if bbox else "not georeferenced"
        gsd = row.get("gsd")
        table.append(
            [
                row.get("id", ""),
                str(row.get("datetime") or "")[:10] or "unknown",
                row.get("collection") or "",
                round(float(gsd), 2) if gsd is not None else None,
                bbox_text,
            ]
        )
    return table


CATALOG_HEADERS = ["id", "date", "collection", "gsd (m)", "bbox (W, S, E, N)"]


def ingest_markdown(report: Mapping[str, Any]) -> str:
    """What an upload/ingest did, for people."""
    added, updated = list(report.get("added", [])), list(report.get("updated", []))
    unchanged, skipped = list(report.get("unchanged", [])), list(report.get("skipped", []))
    lines = [
        f"**Ingest:** {len(added)} added, {len(updated)} updated, {len(unchanged)} unchanged, {len(skipped)} skipped."
    ]
    lines += [f"- added {_code(i)}" for i in added] + [f"- updated {_code(i)}" for i in updated]
    lines += [f"- skipped {_code(s.get('path'))}: {escape_markdown(s.get('reason'))}" for s in skipped]
    return "\n".join(lines)


def status_markdown(status: Mapping[str, Any]) -> str:
    """Which planner and image interpreter are active, and which catalogs are reachable."""
    remote = [
        f"`{api['url']}` " + ("reachable" if api.get("ok") else f"unreachable ({api.get('detail', '?')})")
        for api in status.get("stac_apis", [])
    ]
    lines = [
        f"- **Planner:** {status.get('planner', 'unknown')}",
        f"- **Image interpreter:** {status.get('interpreter', 'unknown')}",
        f"- **Local catalog:** {status.get('catalog_items', 0)} items",
        "- **Remote STAC APIs:** " + ("; ".join(remote) if remote else "none configured (offline)"),
        "- **Map basemap:** "
        + (
            f"online tiles from `{status['tiles_url']}`"
            if status.get("tiles_url")
            else "offline: the imagery itself over country outlines (Natural Earth 1:110m); set "
            "`GEOVIGIE_UI_TILES_URL` (e.g. OpenStreetMap tiles) for an online basemap"
        ),
    ]
    for key in ("database", "artifacts_dir"):
        if status.get(key):
            lines.append(f"- **{key.replace('_', ' ').capitalize()}:** `{status[key]}`")
    return "\n".join(lines)
