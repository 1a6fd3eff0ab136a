"""Chat handlers: run a turn and stream it into the chat, the map and the downloads; reopen threads.

Questions go through a per-session queue: one typed while a turn runs is shown as queued and asked next,
never dropped. The map keeps the previous results until an answer brings new ones (a follow-up such as "show
me the polygons" keeps the map).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from geovigie.core.errors import GeoVigieError
from geovigie.ui import render
from geovigie.ui.basemap import CONTEXT_LABEL, countries_geojson
from geovigie.ui.examples import MAP_QUESTION, parse_examples
from geovigie.ui.hooks import ASSETS_URL, ChatHooks, UiOptions, file_url
from geovigie.ui.map import BoxLayer, leaflet_document, map_iframe, spec_from_artifacts, spec_from_catalog
from geovigie.ui.report import write_reports
from geovigie.ui.static_map import render_static_map

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Something went wrong on the server (it has been logged). Please try again, or rephrase the question."
DOWNLOAD_KINDS = ("geojson", "cog", "png", "json")
NO_EVIDENCE = "No georeferenced evidence yet: ask a question about a place."
NOT_GEOREFERENCED = (
    "This answer's images are not georeferenced: its results are in pixel coordinates (column, row), "
    "so they cannot be placed on a map."
)
STOPPED = "⏹ Stopped."

ChatOutputs = tuple[Any, ...]
"""chatbot, history state, question box, thread state, map, static map, downloads, thread dropdown, queue."""
N_OUTPUTS = 9


class ChatController:
    """The chat's event handlers; stateless apart from the injected hooks and options."""

    def __init__(self, hooks: ChatHooks, options: UiOptions) -> None:
        """Bind the handlers to the service hooks and the UI options."""
        self.hooks = hooks
        self.options = options
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}
        self._busy: set[str] = set()
        self._stopping: dict[str, int] = {}  # session -> queued questions dropped by its Stop
        self._context: str | None | bool = False  # not looked up yet
        self._examples: dict[str, list[dict[str, Any]]] = {}  # session -> examples picked on the map

    def context_url(self) -> str | None:
        """URL of the offline country outlines (written once into the work folder), or None."""
        if self._context is False:
            path = None if self.options.tiles_url else countries_geojson(self.options.work_dir)
            self._context = file_url(path) if path else None
        return self._context if isinstance(self._context, str) else None

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
            context_url=self.context_url(),
            context_label=CONTEXT_LABEL,
            examples=self.hooks.stream_examples is not None,
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

    def footprints_view(self, answer: Mapping[str, Any]) -> str | None:
        """The map of an answer that found imagery without analysing it ("what imagery of Paris?").

        Shows the found scenes' footprints and the area of interest; None when the answer found nothing (the map
        then keeps the previous results).
        """
        found = {
            str(s.get("item_id"))
            for p in answer.get("provenance", [])
            if p.get("tool") == "search_imagery"
            for s in p.get("scenes", [])
        }
        if not found:
            return None
        try:
            rows = [r for r in self.hooks.catalog() if str(r.get("id")) in found]
        except Exception:  # a convenience view: never break the chat for it
            logger.exception("reading the catalog for the footprints failed")
            return None
        spec = spec_from_catalog(rows)
        for p in answer.get("provenance", []):
            aoi = p.get("aoi_bbox")
            if aoi and len(aoi) == 4 and all(isinstance(v, int | float) for v in aoi):
                spec.boxes.append(BoxLayer(title="Area of interest", bbox=(aoi[0], aoi[1], aoi[2], aoi[3])))
                break
        if spec.is_empty():
            return None
        document = leaflet_document(
            spec,
            assets_url=ASSETS_URL,
            file_url=file_url,
            tiles_url=self.options.tiles_url,
            attribution=self.options.tiles_attribution,
            context_url=self.context_url(),
            context_label=CONTEXT_LABEL,
        )
        return map_iframe(document)

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

    def _hooks(self, request: gr.Request | None) -> ChatHooks:
        """The hooks of the request's signed-in principal: its threads, its turns (all threads without sign-in)."""
        return self.hooks.scoped(_owner(request))

    def thread_update(self, selected: str | None = None, request: gr.Request | None = None) -> Any:
        """The recent-threads dropdown, refreshed (the signed-in principal's threads only)."""
        try:
            choices = render.thread_choices(self._hooks(request).list_threads())
        except Exception:  # the dropdown is a convenience: never break the chat for it
            logger.exception("listing threads failed")
            return gr.skip()
        return gr.update(choices=choices, value=selected)

    def respond(
        self, question: str, history: list[Any], thread_id: str | None, request: gr.Request | None = None
    ) -> Iterator[ChatOutputs]:
        """Run one turn, yielding the chat after each agent event (tools stream as they work)."""
        text = (question or "").strip()
        if not text:
            yield (gr.skip(),) * N_OUTPUTS
            return
        yield from self._turn(text, list(history or []), thread_id or uuid.uuid4().hex, "", "direct", request)

    def enqueue(self, question: str, examples: str | None = None, request: gr.Request | None = None) -> tuple[Any, Any]:
        """Put a question in this session's queue; says so when a turn is already running (never dropped).

        ``examples``: the points picked on the map, as the browser's JSON (``ui/examples.py``); they go with this
        session's questions from now on (an empty list clears them).
        """
        text = (question or "").strip()
        if not text:
            return gr.skip(), gr.skip()
        key = _session(request)
        with self._lock:
            if examples is not None:
                picked = parse_examples(examples)
                if picked:
                    self._examples[key] = picked
                else:  # cleared on the map: forget the session's entry rather than keep an empty one
                    self._examples.pop(key, None)
            self._pending.setdefault(key, []).append(text)
            busy = key in self._busy
        return "", self.queue_markdown(key) if busy else ""

    def enqueue_examples(self, examples: str | None, request: gr.Request | None = None) -> tuple[Any, Any]:
        """Map from examples: ask for the class map of the points picked on the map."""
        return self.enqueue(MAP_QUESTION, examples if examples is not None else "[]", request)

    def queue_markdown(self, key: str) -> str:
        """The visible queue: questions waiting for the running turn to finish."""
        with self._lock:
            waiting = list(self._pending.get(key, []))
        if not waiting:
            return ""
        lines = "\n".join(f"{i}. {_one_line(q)}" for i, q in enumerate(waiting, 1))
        return f"**Queued** (asked after the current answer):\n{lines}"

    def run_queue(
        self, history: list[Any], thread_id: str | None, request: gr.Request | None = None
    ) -> Iterator[ChatOutputs]:
        """Answer this session's queued questions one after the other (a second caller returns at once)."""
        key = _session(request)
        with self._lock:
            if key in self._busy:
                yield (gr.skip(),) * N_OUTPUTS  # the running loop takes the new question
                return
            self._busy.add(key)
        chat, tid = list(history or []), thread_id or uuid.uuid4().hex
        try:
            while True:
                with self._lock:
                    queue = self._pending.get(key)
                    if not queue:
                        # Pop-or-release under one lock: a question queued now is never stranded.
                        self._busy.discard(key)
                        return
                    text = queue.pop(0)
                turn = self._turn(text, chat, tid, self.queue_markdown(key), key, request)
                for outputs in turn:
                    chat = outputs[1] if isinstance(outputs[1], list) else chat
                    yield outputs
        finally:
            with self._lock:
                self._busy.discard(key)
                self._stopping.pop(key, None)

    def stop(self, request: gr.Request | None = None) -> str:
        """Ask this session's running turn to stop after its current step, and drop the queued questions.

        The turn is not killed mid-tool (its worker would keep the thread's turn slot): it notices the request
        at its next event, closes the agent's stream and says so in the chat.
        """
        key = _session(request)
        with self._lock:
            dropped = self._pending.pop(key, [])
            if key not in self._busy:
                return ""
            self._stopping[key] = len(dropped)
        return "⏹ Stopping after the current step…"

    def _stop_requested(self, key: str) -> int | None:
        with self._lock:
            return self._stopping.pop(key, None)

    def _turn(
        self, text: str, history: list[Any], tid: str, queue: str, key: str, request: gr.Request | None = None
    ) -> Iterator[ChatOutputs]:
        chat = [*history, gr.ChatMessage(role="user", content=text)]
        skip = gr.skip()
        yield chat, chat, "", tid, skip, skip, skip, skip, queue
        seen: dict[str, Mapping[str, Any]] = {}
        hooks = self._hooks(request)
        with self._lock:
            examples = list(self._examples.get(key, []))
        if examples and hooks.stream_examples is not None:
            stream = iter(hooks.stream_examples(text, tid, examples))
        else:
            stream = iter(hooks.stream(text, tid))
        try:
            for event in stream:
                dropped = self._stop_requested(key)
                if dropped is not None:
                    note = STOPPED + (f" {dropped} queued question(s) were not asked." if dropped else "")
                    chat = [*chat, gr.ChatMessage(role="assistant", content=note)]
                    break
                chat = render.apply_event(chat, event)
                outputs: tuple[Any, Any, Any] = (skip, skip, skip)
                if event.get("type") == "tool_finished" and event.get("artifacts"):
                    seen.update({a["id"]: a for a in event["artifacts"]})
                    outputs = (*self.map_view(list(seen.values())), skip)
                elif event.get("type") == "final" and event["answer"].get("artifacts"):
                    outputs = self.answer_view(event["answer"])
                elif event.get("type") == "final":
                    # Found imagery shows its footprints; an answer about earlier results keeps the map as it is.
                    footprints = self.footprints_view(event["answer"])
                    outputs = (footprints, None, skip) if footprints else outputs
                yield chat, chat, skip, skip, *outputs, skip, skip
        except GeoVigieError as exc:
            chat = [*chat, render.error_message(exc.user_message)]
        except Exception:  # never show a traceback to a person; the log has it
            logger.exception("chat turn failed")
            chat = [*chat, render.error_message(INTERNAL_ERROR)]
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops the agent between steps and releases the thread's turn
        yield chat, chat, skip, skip, skip, skip, skip, self.thread_update(tid, request), self.queue_markdown(key)

    def new_thread(self, request: gr.Request | None = None) -> ChatOutputs:
        """Start a fresh conversation (the old one stays in the recent threads)."""
        empty_map, _ = self.map_view([])
        return [], [], "", None, empty_map, None, None, self.thread_update(None, request), ""

    def open_thread(self, thread_id: str | None, request: gr.Request | None = None) -> ChatOutputs:
        """Reload a stored conversation with its last answer's map and downloads."""
        skip = gr.skip()
        if not thread_id:
            return (skip,) * N_OUTPUTS
        record = self._hooks(request).thread_record(thread_id)
        if record is None:
            chat = [render.error_message(f"The conversation {thread_id} no longer exists.")]
            return chat, chat, skip, None, skip, skip, skip, self.thread_update(None, request), skip
        chat = render.history_from_record(record)
        answer = render.last_answer(record)
        map_html, static, files = self.answer_view(answer) if answer else (self.map_view([])[0], None, [])
        return chat, chat, "", thread_id, map_html, static, files or None, skip, skip


def _one_line(text: str, limit: int = 120) -> str:
    # A queued question is shown as typed text, not as Markdown or HTML.
    flat = html.escape(" ".join(text.split()))
    flat = re.sub(r"([\\`*_\[\]#|<>])", r"\\\1", flat)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _owner(request: gr.Request | None) -> str | None:
    """The signed-in principal of a request (Gradio's ``username`` from the sign-in dependency), if any."""
    name = getattr(request, "username", None)
    return str(name) if name else None


def _session(request: gr.Request | None) -> str:
    """The browser session a handler runs for (direct calls without a request share one key)."""
    return str(getattr(request, "session_hash", None) or "direct")
