"""Chat handlers: run a turn and stream it into the chat, the map and the downloads; reopen threads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from geovigie.core.errors import GeoVigieError
from geovigie.ui import render
from geovigie.ui.hooks import ASSETS_URL, ChatHooks, UiOptions, file_url
from geovigie.ui.map import leaflet_document, map_iframe, spec_from_artifacts
from geovigie.ui.report import write_reports
from geovigie.ui.static_map import render_static_map

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Something went wrong on the server (it has been logged). Please try again, or rephrase the question."
DOWNLOAD_KINDS = ("geojson", "cog", "png", "json")
NO_EVIDENCE = "No georeferenced evidence yet: ask a question about a place."
NOT_GEOREFERENCED = "This answer's images are not georeferenced (pixel images), so they cannot be placed on a map."

ChatOutputs = tuple[Any, ...]
"""chatbot, history state, question box, thread state, map, static map, downloads, thread dropdown."""


class ChatController:
    """The chat's event handlers; stateless apart from the injected hooks and options."""

    def __init__(self, hooks: ChatHooks, options: UiOptions) -> None:
        """Bind the handlers to the service hooks and the UI options."""
        self.hooks = hooks
        self.options = options

    def map_view(self, artifacts: Sequence[Mapping[str, Any]], aoi: Sequence[Any] = ()) -> tuple[str, str | None]:
        """The map iframe for some artifacts, and the path of its static rendering (None when empty)."""
        spec = spec_from_artifacts(artifacts, aoi_bboxes=aoi)
        empty = NOT_GEOREFERENCED if artifacts else NO_EVIDENCE
        pixels = [a for a in artifacts if a.get("kind") == "png" and not a.get("bbox") and a.get("path")]
        static: str | None = None
        if not spec.is_empty():
            digest = hashlib.sha256(json.dumps(dataclasses.asdict(spec), default=str).encode()).hexdigest()[:16]
            path = self.options.work_dir / "maps" / f"map-{digest}.png"
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                render_static_map(spec).save(path)
            static = str(path)
        document = leaflet_document(
            spec,
            assets_url=ASSETS_URL,
            file_url=file_url,
            tiles_url=self.options.tiles_url,
            attribution=self.options.tiles_attribution,
            fallback_url=file_url(static) if static else None,
            empty_text=empty,
            empty_image_url=file_url(pixels[-1]["path"]) if pixels else None,
        )
        return map_iframe(document), static

    def download_path(self, artifact: Mapping[str, Any]) -> str:
        """A download with a readable name (artifacts are named by content hash): a hard link, else a copy."""
        source = Path(artifact["path"])
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(artifact.get("title") or artifact.get("role") or "artifact"))
        target = (
            self.options.work_dir / "downloads" / source.stem / f"{slug.strip('-.')[:90] or 'artifact'}{source.suffix}"
        )
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:  # another filesystem, or links not allowed
                shutil.copy2(source, target)
        return str(target)

    def answer_view(self, answer: Mapping[str, Any]) -> tuple[str, str | None, list[str]]:
        """Map, static map and downloadable files (evidence plus Markdown and HTML reports) of an answer."""
        artifacts = list(answer.get("artifacts", []))
        aoi = [p.get("aoi_bbox") for p in answer.get("provenance", []) if p.get("aoi_bbox")]
        map_html, static = self.map_view(artifacts, aoi)
        files = [
            self.download_path(a) for a in artifacts if a.get("kind") in DOWNLOAD_KINDS and Path(a["path"]).is_file()
        ]
        md, page = write_reports(answer, self.options.work_dir / "reports", static_map=Path(static) if static else None)
        return map_html, static, [*files, str(md), str(page), *self._bundle(answer)]

    def _bundle(self, answer: Mapping[str, Any]) -> list[str]:
        # The replayable bundle of this turn, with the other downloads; a failure never breaks the chat.
        if self.hooks.bundle is None or not answer.get("thread_id"):
            return []
        try:
            path = self.hooks.bundle(str(answer["thread_id"]), self.options.work_dir / "bundles")
        except Exception:
            logger.exception("answer bundle failed")
            return []
        return [str(path)] if path else []

    def thread_update(self, selected: str | None = None) -> Any:
        """The recent-threads dropdown, refreshed."""
        try:
            choices = render.thread_choices(self.hooks.list_threads())
        except Exception:  # the dropdown is a convenience: never break the chat for it
            logger.exception("listing threads failed")
            return gr.skip()
        return gr.update(choices=choices, value=selected)

    def respond(self, question: str, history: list[Any], thread_id: str | None) -> Iterator[ChatOutputs]:
        """Run one turn, yielding the chat after each agent event (tools stream as they work)."""
        text = (question or "").strip()
        if not text:
            yield (gr.skip(),) * 8
            return
        tid = thread_id or uuid.uuid4().hex
        chat = [*(history or []), gr.ChatMessage(role="user", content=text)]
        skip = gr.skip()
        yield chat, chat, "", tid, skip, skip, skip, skip
        seen: dict[str, Mapping[str, Any]] = {}
        try:
            for event in self.hooks.stream(text, tid):
                chat = render.apply_event(chat, event)
                outputs: tuple[Any, Any, Any] = (skip, skip, skip)
                if event.get("type") == "tool_finished" and event.get("artifacts"):
                    seen.update({a["id"]: a for a in event["artifacts"]})
                    outputs = (*self.map_view(list(seen.values())), skip)
                elif event.get("type") == "final":
                    outputs = self.answer_view(event["answer"])
                yield chat, chat, skip, skip, *outputs, skip
        except GeoVigieError as exc:
            chat = [*chat, render.error_message(exc.user_message)]
        except Exception:  # never show a traceback to a person; the log has it
            logger.exception("chat turn failed")
            chat = [*chat, render.error_message(INTERNAL_ERROR)]
        yield chat, chat, skip, skip, skip, skip, skip, self.thread_update(tid)

    def new_thread(self) -> ChatOutputs:
        """Start a fresh conversation (the old one stays in the recent threads)."""
        empty_map, _ = self.map_view([])
        return [], [], "", None, empty_map, None, None, self.thread_update(None)

    def open_thread(self, thread_id: str | None) -> ChatOutputs:
        """Reload a stored conversation with its last answer's map and downloads."""
        skip = gr.skip()
        if not thread_id:
            return (skip,) * 8
        record = self.hooks.thread_record(thread_id)
        if record is None:
            chat = [render.error_message(f"The conversation {thread_id} no longer exists.")]
            return chat, chat, skip, None, skip, skip, skip, self.thread_update(None)
        chat = render.history_from_record(record)
        answer = render.last_answer(record)
        map_html, static, files = self.answer_view(answer) if answer else (self.map_view([])[0], None, [])
        return chat, chat, "", thread_id, map_html, static, files or None, skip
