"""HTTP routes: ask, chat (SSE), OpenAI-compatible completions, threads, artifacts, catalog, health."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from geovigie.core.errors import GeoVigieError, ToolInputError
from geovigie.serving.api.deps import require_principal, service_of
from geovigie.serving.api.readiness import readiness_checks
from geovigie.serving.api.recorder import list_threads, thread_record
from geovigie.serving.api.schemas import THREAD_ID, AskRequest, ChatCompletionRequest, IngestRequest
from geovigie.serving.api.security import Principal
from geovigie.serving.api.service import TurnService

router = APIRouter()
Service = Annotated[TurnService, Depends(service_of)]
Auth = Depends(require_principal)
Caller = Annotated[Principal, Depends(require_principal)]


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (on the event loop: never queued behind turns or the thread pool)."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(service: Service) -> JSONResponse:
    """Readiness: database writable (SQLite shared memory included), artifacts writable, LLM endpoint up."""
    checks = await readiness_checks(service)
    ok = all(v == "ok" or k in ("planner", "load") for k, v in checks.items())
    return JSONResponse(status_code=200 if ok else 503, content={"status": "ready" if ok else "not ready", **checks})


@router.post("/v1/ask", tags=["agent"])
async def ask(body: AskRequest, service: Service, caller: Caller) -> dict[str, Any]:
    """Ask a question; returns the answer, figures, provenance, artifacts and tool trace."""
    answer = await run_in_threadpool(service.ask, body.question, thread_id=body.thread_id, owner=caller.key_id,
                                     confirm_large_runs=body.confirm_large_runs,
                                     examples=body.example_dicts())  # fmt: skip
    return answer.model_dump(mode="json")


_INTERNAL = {"message": "Internal error; it has been logged.", "type": "InternalError", "code": "internal_error"}


def _sse(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    try:
        for event in events:
            yield f"event: {event['type']}\ndata: {json.dumps(event, default=str)}\n\n"
    except GeoVigieError as exc:
        yield f"event: error\ndata: {json.dumps({'error': exc.to_dict()})}\n\n"
    except Exception:  # the stream is already open: report in-band
        yield f"event: error\ndata: {json.dumps({'error': _INTERNAL})}\n\n"


@router.post("/v1/chat", tags=["agent"])
async def chat(body: AskRequest, service: Service, caller: Caller) -> StreamingResponse:
    """Stream the agent's typed events as Server-Sent Events.

    Events: ``queued`` (with the position, when the turn waits for a slot), plan, tool_started, tool_progress,
    tool_finished, answer, then ``final`` with the structured answer. A full queue is refused with 429.
    """
    tid = body.thread_id or uuid.uuid4().hex
    stream = await run_in_threadpool(service.stream, body.question, thread_id=tid, owner=caller.key_id,
                                     confirm_large_runs=body.confirm_large_runs,
                                     examples=body.example_dicts())  # fmt: skip
    return StreamingResponse(iterate_in_threadpool(_sse(stream)), media_type="text/event-stream")


@router.get("/v1/threads", tags=["threads"])
def threads(service: Service, caller: Caller, limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    """The caller's recent threads."""
    return list_threads(service.ctx.db, limit=limit, owner=caller.key_id)


@router.get("/v1/threads/{thread_id}", tags=["threads"])
def thread(thread_id: str, service: Service, caller: Caller) -> dict[str, Any]:
    """A thread's messages; assistant messages carry the structured answer (the caller's threads only)."""
    record = thread_record(service.ctx.db, thread_id, owner=caller.key_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"No thread {thread_id[:64]!r}.")
    return record


@router.get("/v1/artifacts/{artifact_id}", tags=["artifacts"], dependencies=[Auth])
def artifact(artifact_id: str, service: Service) -> FileResponse:
    """A recorded artifact file with its media type (a file merely placed in the store's folder is not served)."""
    if not service.knows_artifact(artifact_id):
        raise HTTPException(status_code=404, detail="No such artifact.")
    path = service.ctx.artifacts.path_of(artifact_id)
    media = {
        ".png": "image/png",
        ".geojson": "application/geo+json",
        ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
        ".json": "application/json",
        ".md": "text/markdown",
        ".html": "text/html",
    }
    return FileResponse(path, media_type=media.get(path.suffix, "application/octet-stream"), filename=path.name)


def _inside_data(service: TurnService, raw: str) -> Path:
    root = service.settings.data_dir.resolve()
    try:
        candidate = (root / raw).resolve() if not Path(raw).is_absolute() else Path(raw).resolve()
    except (OSError, ValueError) as exc:  # NUL bytes, names over the OS limit
        raise ToolInputError("Invalid path.", hint="Give a path inside the data folder (GEOVIGIE_DATA_DIR).") from exc
    if not candidate.is_relative_to(root):
        # The server's folders are not echoed: they tell an attacker about the machine.
        raise ToolInputError(
            "That path is outside the data folder.", hint="Give a path inside the data folder (GEOVIGIE_DATA_DIR)."
        )
    return candidate


@router.post("/v1/catalog/ingest", tags=["catalog"], dependencies=[Auth])
async def ingest(body: IngestRequest, service: Service) -> dict[str, Any]:
    """Index rasters found under the given paths (inside the data folder) into the local catalog."""
    from geovigie.tools.catalog import ingest_paths

    paths = [_inside_data(service, p) for p in body.paths]
    report = await run_in_threadpool(
        ingest_paths, paths, service.ctx.db, pixel_size_m=body.pixel_size_m, root=service.settings.data_dir.resolve()
    )
    return report.model_dump(mode="json")


@router.get("/v1/catalog/search", tags=["catalog"], dependencies=[Auth])
async def search(
    service: Service,
    bbox: str | None = Query(None, description="west,south,east,north in EPSG:4326"),
    start: str | None = None,
    end: str | None = None,
    max_cloud: float | None = Query(None, ge=0, le=100),
    collections: str | None = None,
    limit: int = Query(20, ge=1, le=100),
) -> dict[str, Any]:
    """Search the local catalog (and configured STAC APIs)."""
    from geovigie.tools.registry import TOOLS

    args: dict[str, Any] = {"start": start, "end": end, "max_cloud": max_cloud, "limit": limit}
    if bbox:
        try:
            args["bbox"] = [float(v) for v in bbox.split(",")]
        except ValueError as exc:
            raise ToolInputError(
                "bbox must be four numbers: west,south,east,north.", hint="e.g. bbox=-1,44,0,45"
            ) from exc
    if collections:
        args["collections"] = collections.split(",")
    output = await run_in_threadpool(TOOLS["search_imagery"].run, args, service.ctx)
    return output.model_dump(mode="json")


def _last_user_text(body: ChatCompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            if isinstance(message.content, str):
                return message.content
            return " ".join(str(p.get("text", "")) for p in message.content or [] if p.get("type") == "text")
    raise ToolInputError("No user message in the request.", hint="Send at least one message with role 'user'.")


@router.post("/v1/chat/completions", tags=["openai"])
async def chat_completions(body: ChatCompletionRequest, service: Service, request: Request, caller: Caller) -> Any:
    """OpenAI-compatible chat completions: GeoVigie as a model (``user`` = thread id)."""
    question = _last_user_text(body)
    thread_id = body.user or request.headers.get("x-geovigie-thread") or uuid.uuid4().hex
    if not re.fullmatch(THREAD_ID, thread_id):
        raise ToolInputError("Invalid thread id.", hint="Use 1-64 letters, digits, '_', '.' or '-'.")
    created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if not body.stream:
        answer = await run_in_threadpool(service.ask, question, thread_id=thread_id, owner=caller.key_id)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "geovigie": answer.model_dump(mode="json"),
        }
    events = await run_in_threadpool(service.stream, question, thread_id=thread_id, owner=caller.key_id)

    async def chunks() -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk({"role": "assistant", "content": ""})
        try:
            async for event in iterate_in_threadpool(events):
                if event["type"] == "answer":
                    text = event["text"]
                    for i in range(0, len(text), 200):
                        yield chunk({"content": text[i : i + 200]})
        except Exception as exc:  # the stream is open: report in-band as OpenAI does, then end it properly
            err = exc.to_dict() if isinstance(exc, GeoVigieError) else _INTERNAL
            yield f"data: {json.dumps({'error': err})}\n\n"
            yield chunk({}, "error")
            yield "data: [DONE]\n\n"
            return
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")
