"""What the UI needs from the rest of GeoVigie, passed in as callables (the UI never imports serving or core.db)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

STATIC_DIR = Path(__file__).resolve().parent / "static"
"""Files the app serves itself (Leaflet), so the UI works without internet."""


@dataclass(frozen=True)
class ChatHooks:
    """Callables into the turn service, looked up lazily by whoever builds the UI.

    Attributes:
        stream: ``(question, thread_id) -> events`` (plan, tool_started, tool_progress, tool_finished,
            answer, final), raising ``GeoVigieError`` for requests that cannot run.
        list_threads: Recent threads, newest first: ``[{"id", "title", "updated_at"}]``.
        thread_record: A thread with its messages (assistant messages carry the structured answer), or None.
        catalog: Local catalog rows: ``[{"id", "datetime", "collection", "gsd", "bbox"}]``.
        ingest: Ingest uploaded files (temporary paths) with an optional pixel size in metres for images
            without georeferencing; returns the ingest report as a dict. Re-uploading the same bytes reuses
            the stored copy and its item.
        status: Active planner, image interpreter, catalog size and remote STAC APIs.
        bundle: ``(thread_id, out_dir) -> zip`` of the answer bundle of the thread's latest turn (replayable with
            ``geovigie replay``), or None; the chat offers it with the downloads when given.
        for_owner: Hooks whose threads are those of one signed-in principal (see :meth:`scoped`).
    """

    stream: Callable[[str, str], Iterable[dict[str, Any]]]
    list_threads: Callable[[], list[dict[str, Any]]]
    thread_record: Callable[[str], dict[str, Any] | None]
    catalog: Callable[[], list[dict[str, Any]]]
    ingest: Callable[[list[Path], float | None], dict[str, Any]]
    status: Callable[[], dict[str, Any]]
    bundle: Callable[[str, Path], Path | None] | None = None
    for_owner: Callable[[str | None], ChatHooks] | None = None
    """The same hooks scoped to a signed-in principal (its threads only); None when the chat has no sign-in."""
    stream_examples: Callable[[str, str, list[dict[str, Any]]], Iterable[dict[str, Any]]] | None = None
    """``(question, thread_id, examples) -> events``: a turn carrying labelled places picked on the map (for
    map_from_examples); None: the chat sends questions without them."""

    def scoped(self, owner: str | None) -> ChatHooks:
        """The hooks to use for a request signed in as ``owner`` (these hooks when there is no sign-in)."""
        return self.for_owner(owner) if self.for_owner is not None and owner else self


@dataclass(frozen=True)
class UiOptions:
    """Where the UI writes its own files, and how the map gets a basemap.

    Attributes:
        work_dir: Folder for static maps and reports (served to the browser).
        artifacts_dir: The artifact store's folder (served, so that the map can show images).
        tiles_url: XYZ tile template for a basemap; None keeps the map offline.
        tiles_attribution: Attribution shown with the tiles.
    """

    work_dir: Path
    artifacts_dir: Path | None = None
    tiles_url: str | None = None
    tiles_attribution: str = ""

    def served_paths(self) -> list[str]:
        """Folders the Gradio app must serve (pass as ``allowed_paths`` when mounting or launching)."""
        paths = [STATIC_DIR, self.work_dir] + ([self.artifacts_dir] if self.artifacts_dir else [])
        return [str(p.resolve()) for p in paths]


def file_url(path: str | Path) -> str:
    """The browser URL of a served file (Gradio's file route; the folder must be in ``served_paths``)."""
    return "/gradio_api/file=" + quote(str(Path(path).resolve()), safe="/")


ASSETS_URL = file_url(STATIC_DIR)
"""URL of the served static folder: vendored Leaflet (``leaflet/``) and the map script (``geovigie-map.js``)."""
