"""Mount the Gradio chat on the FastAPI app: one process, one settings object, one turn service."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from geovigie.core.db.models import CatalogItem
from geovigie.core.errors import ConfigError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import ANONYMOUS_OWNER, list_threads, thread_record
from geovigie.serving.api.runs_routes import split_confirmation
from geovigie.serving.api.security import is_loopback
from geovigie.serving.api.service import TurnService
from geovigie.serving.api.ui_auth import UiSessions, install_login
from geovigie.ui.hooks import ChatHooks, UiOptions

logger = logging.getLogger(__name__)

MAX_CATALOG_ROWS = 5000


def catalog_rows(service: TurnService, *, limit: int = MAX_CATALOG_ROWS) -> list[dict[str, Any]]:
    """Local catalog rows for the data panel (id, date, collection, gsd, WGS84 bbox when georeferenced)."""
    stmt = select(CatalogItem).order_by(CatalogItem.collection, CatalogItem.datetime).limit(limit)
    with service.ctx.db.session() as session:
        return [
            {
                "id": row.id,
                "datetime": row.datetime.isoformat() if row.datetime else None,
                "collection": row.collection,
                "gsd": row.gsd,
                "bbox": [row.west, row.south, row.east, row.north]
                if row.georeferenced and None not in (row.west, row.south, row.east, row.north)
                else None,
            }
            for row in session.scalars(stmt)
        ]


def _unique_target(folder: Path, name: str) -> Path:
    target = folder / Path(name).name
    stem, suffix, n = target.stem, target.suffix, 2
    while target.exists():
        target = folder / f"{stem}-{n}{suffix}"
        n += 1
    return target


def upload_roots(settings: Settings) -> list[Path]:
    """Folders the chat may ingest from: Gradio's upload folder and the data folder.

    Gradio skips its own path check in apps mounted on FastAPI, so a crafted event could name any server file.
    """
    import gradio.utils

    return [Path(gradio.utils.get_upload_folder()).resolve(), settings.data_dir.resolve()]


def check_upload(path: Path, roots: list[Path]) -> Path:
    """The resolved path of an uploaded file, refused outside ``roots`` (links resolved first).

    Raises:
        ToolInputError: the file was not uploaded through the chat and is not in the data folder.
    """
    try:
        resolved = Path(path).resolve(strict=True)
    except (OSError, ValueError) as exc:
        raise ToolInputError("That file is not an upload.", hint="Upload the file in the Data tab.") from exc
    if not resolved.is_file() or not any(resolved.is_relative_to(root) for root in roots):
        raise ToolInputError(
            f"{Path(path).name!r} was not uploaded through the chat.", hint="Upload the file in the Data tab."
        )
    return resolved


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _stored_copy(folder: Path, source: Path) -> Path:
    """The kept copy of an upload: an earlier copy with the same bytes when there is one, else a new file.

    Re-uploading a file then re-ingests the same path (its item is reused, reported unchanged) instead of
    adding a duplicate item that would make questions naming the file ambiguous.
    """
    size, digest = source.stat().st_size, None
    for existing in sorted(folder.iterdir()):
        if existing.is_file() and existing.stat().st_size == size:
            digest = digest or _digest(source)
            if _digest(existing) == digest:
                return existing
    target = _unique_target(folder, source.name)
    shutil.copy2(source, target)
    return target


def ingest_uploads(service: TurnService, paths: list[Path], pixel_size_m: float | None = None) -> dict[str, Any]:
    """Copy uploaded files into ``home/uploads`` (Gradio's temporary copies are cleaned up) and ingest them.

    Args:
        service: The turn service (settings and catalog).
        paths: Gradio's temporary upload paths.
        pixel_size_m: Ground pixel size for images without georeferencing (a person's hint at upload).

    Raises:
        ToolInputError: a path is neither an upload of this server's chat nor inside the data folder.
    """
    from geovigie.tools.catalog import ingest_paths

    roots = upload_roots(service.settings)
    paths = [check_upload(p, roots) for p in paths]
    folder = (service.settings.home / "uploads").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    copies = [_stored_copy(folder, path) for path in paths]
    report = ingest_paths(copies, service.ctx.db, pixel_size_m=pixel_size_m)
    logger.info("ingested uploads files=%d added=%d", len(copies), len(report.added))
    return report.model_dump(mode="json")


def probe_stac_api(url: str, *, timeout_s: float = 3.0) -> dict[str, Any]:
    """Whether a STAC API answers its landing page (short timeout: this runs when the Status tab opens)."""
    import httpx

    try:
        response = httpx.get(url, timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        return {"url": url, "ok": False, "detail": type(exc).__name__}
    return {"url": url, "ok": response.status_code < 400, "detail": f"HTTP {response.status_code}"}


def service_status(service: TurnService) -> dict[str, Any]:
    """Active planner and image interpreter, catalog size, remote STAC APIs (probed), storage locations."""
    settings = service.settings
    vlm = settings.vlm_base_url or settings.llm_base_url
    with service.ctx.db.session() as session:
        count = session.scalar(select(func.count()).select_from(CatalogItem)) or 0
    return {
        "planner": service.agent.planner,
        "interpreter": f"vision model at {vlm}" if vlm else "offline measurement interpreter (no VLM configured)",
        "catalog_items": count,
        "stac_apis": [probe_stac_api(url) for url in settings.stac_api_urls],
        "database": make_url(settings.resolved_db_url).render_as_string(hide_password=True),
        "artifacts_dir": str(settings.resolved_artifacts_dir.resolve()),
    }


def _chat_stream(
    service: TurnService, question: str, thread_id: str, owner: str | None = None,
    examples: list[dict[str, Any]] | None = None,
) -> Iterable[dict[str, Any]]:  # fmt: skip
    """A chat turn; ``confirm: <question>`` runs it with its large runs confirmed (see ``split_confirmation``).

    ``examples``: labelled places picked on the map, passed to the planner as over the API.
    """
    text, confirmed = split_confirmation(question)
    # A generator: the service refuses a turn (bad question, full queue) as soon as it is asked, and the chat
    # expects refusals from its iteration, inside its error handling, so the call waits for the first event.
    yield from service.stream(text, thread_id=thread_id, owner=owner or ANONYMOUS_OWNER, confirm_large_runs=confirmed,
                              examples=examples)  # fmt: skip


def build_hooks(service: Callable[[], TurnService], owner: str | None = None) -> ChatHooks:
    """The UI's callables into the turn service; ``service`` is called on every use (it may start later).

    With ``owner`` (a signed-in key), threads are that key's only: listed, reopened and continued, as over the API.
    """
    return ChatHooks(
        stream=lambda question, thread_id: _chat_stream(service(), question, thread_id, owner),
        list_threads=lambda: list_threads(service().ctx.db, limit=30, owner=owner),
        thread_record=lambda thread_id: thread_record(service().ctx.db, thread_id, owner=owner),
        catalog=lambda: catalog_rows(service()),
        ingest=lambda paths, pixel_size_m: ingest_uploads(service(), paths, pixel_size_m),
        status=lambda: service_status(service()),
        bundle=lambda thread_id, out_dir: _latest_bundle(service(), thread_id, out_dir, owner),
        for_owner=None if owner else (lambda principal: build_hooks(service, principal)),
        stream_examples=lambda question, thread_id, examples: _chat_stream(
            service(), question, thread_id, owner, examples
        ),
    )


def _latest_bundle(service: TurnService, thread_id: str, out_dir: Path, owner: str | None = None) -> Path | None:
    from geovigie.serving.bundle import export_latest

    if owner and thread_record(service.ctx.db, thread_id, owner=owner) is None:
        return None  # not this principal's thread
    return export_latest(service.ctx.db, service.settings, thread_id, out_dir)


def mount_chat_ui(app: FastAPI, settings: Settings) -> None:
    """Serve the Gradio chat at ``/`` next to the API routes (``/v1/*``, ``/healthz`` keep working).

    The service is built in the app's lifespan, after this runs, so every hook looks it up on each call.
    When API keys are required (non-loopback bind), the chat asks for one: any user name, the key as password.
    """
    import gradio as gr

    from geovigie.ui.app import CSS, build_ui

    def service() -> TurnService:
        current: TurnService | None = getattr(app.state, "service", None)
        if current is None:
            raise ConfigError("GeoVigie is still starting.", hint="Retry in a few seconds.")
        return current

    hooks = build_hooks(service)
    settings.ensure_dirs()
    options = UiOptions(
        work_dir=(settings.home / "ui").resolve(),
        artifacts_dir=settings.resolved_artifacts_dir.resolve(),
        tiles_url=settings.ui_tiles_url,
        tiles_attribution=settings.ui_tiles_attribution,
    )
    options.work_dir.mkdir(parents=True, exist_ok=True)

    sessions = UiSessions(lambda: service().ctx.db)
    app.state.ui_sessions = sessions
    if app.state.require_keys:
        secure = settings.api_secure_cookies
        install_login(app, sessions, secure=not is_loopback(settings.api_host) if secure is None else secure)

    gr.mount_gradio_app(
        app,
        build_ui(hooks, options),
        path="/",
        allowed_paths=options.served_paths(),
        auth_dependency=sessions.user if app.state.require_keys else None,
        auth_message="Sign in with any user name and a GeoVigie API key (`geovigie keys create NAME`) as password.",
        css=CSS,
        max_file_size=settings.ui_max_upload_bytes,
        footer_links=[],
        ssr_mode=False,
    )
