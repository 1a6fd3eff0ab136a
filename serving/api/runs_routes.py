"""HTTP routes of long tiled runs: ``GET /v1/runs`` (state, coverage) and ``POST /v1/runs/{id}/cancel``.

A run over ``GEOVIGIE_CONFIRM_PIXELS`` pixels is refused until the request says ``confirm_large_runs`` (the
refusal carries the cost estimate); once started on Dask, its tiles are recorded, it can be cancelled from any
process sharing the database, and a restart of the API reports it as interrupted (asking again resumes it).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from geovigie.serving.api.deps import require_principal, service_of
from geovigie.serving.api.service import TurnService
from geovigie.tools.raster import list_runs, request_cancel

_CONFIRM = re.compile(r"^\s*(confirm|confirmer|confirme)\s*[:!]\s*", re.IGNORECASE)


def split_confirmation(question: str) -> tuple[str, bool]:
    """A chat question starting with ``confirm:`` (FR ``confirmer :``) confirms its large runs; the prefix is cut.

    The chat has no separate control for it: the refusal's hint tells the user to ask again with the prefix.
    """
    match = _CONFIRM.match(question)
    return (question[match.end() :], True) if match else (question, False)


runs_router = APIRouter(dependencies=[Depends(require_principal)])
Service = Annotated[TurnService, Depends(service_of)]


@runs_router.get("/v1/runs", tags=["runs"])
def runs(service: Service, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """The latest tiled runs (newest first): state, tiles done and failed, coverage."""
    return [{**asdict(r), "coverage": round(r.coverage, 4)} for r in list_runs(service.ctx.db, limit=limit)]


@runs_router.post("/v1/runs/{run_id}/cancel", tags=["runs"])
def cancel(run_id: str, service: Service) -> dict[str, Any]:
    """Ask the process driving a running run to stop it (it keeps the tiles done; asking again resumes it)."""
    if not request_cancel(service.ctx.db, run_id):
        raise HTTPException(status_code=404, detail=f"No running run {run_id!r}.")
    return {"id": run_id, "cancel_requested": True}
