"""HTTP route of answer bundles: ``GET /v1/threads/{id}/bundle`` (a zip; same keys and limits as thread routes)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from geovigie.serving.api.deps import require_principal, service_of
from geovigie.serving.api.recorder import thread_record
from geovigie.serving.api.security import Principal
from geovigie.serving.api.service import TurnService

bundle_router = APIRouter()
Service = Annotated[TurnService, Depends(service_of)]
Caller = Annotated[Principal, Depends(require_principal)]


def _zip(service: TurnService, thread_id: str, turn: int | None) -> tuple[Path, Path]:
    from geovigie.serving.bundle import export_bundle

    tmp = Path(tempfile.mkdtemp(prefix="geovigie-bundle-"))
    ref = f"{thread_id}:{turn}" if turn else thread_id
    name = f"geovigie-bundle-{thread_id}" + (f"-turn{turn}" if turn else "")
    return export_bundle(service.ctx.db, service.settings, ref, tmp / f"{name}.zip"), tmp


@bundle_router.get("/v1/threads/{thread_id}/bundle", tags=["threads"])
async def bundle(
    thread_id: str,
    service: Service,
    caller: Caller,
    turn: int | None = Query(None, ge=1, description="Only this answered turn (from 1); all turns by default."),
) -> FileResponse:
    """The thread's answer bundle as a zip: STAC of inputs (checksummed) and outputs, and run.json.

    Replay it anywhere with ``geovigie replay BUNDLE.zip``.
    """
    # The caller's threads only, as GET /v1/threads/{id}: another key's thread reads as missing.
    if thread_record(service.ctx.db, thread_id, owner=caller.key_id) is None:
        raise HTTPException(status_code=404, detail=f"No thread {thread_id[:64]!r}.")
    archive, tmp = await run_in_threadpool(_zip, service, thread_id, turn)
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True),
    )
