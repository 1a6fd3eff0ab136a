"""Readiness checks: what must work for a turn to succeed, probed cheaply and never raising."""

from __future__ import annotations

import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import text

from geovigie.serving.api.service import TurnService

LLM_PROBE_TIMEOUT_S = 2.0
"""A readiness probe must answer quickly: a slow model endpoint is reported as down."""

_PROBES = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")
"""Probes get their own threads: under load the shared pool is busy streaming turns."""


def _database(service: TurnService) -> str:
    db = service.ctx.db
    try:
        db.check_shared_memory()
        with db.session() as session:
            # A no-op write takes the write lock: a read-only database answers SELECT 1 happily.
            session.execute(text("UPDATE alembic_version SET version_num = version_num"))
            session.rollback()
    except Exception as exc:  # readiness reports, it never raises
        return f"error: {type(exc).__name__}"
    return "ok"


def _artifacts(service: TurnService) -> str:
    root = service.ctx.artifacts.root
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".ready-", delete=True):
            pass
    except OSError as exc:
        return f"error: not writable ({exc.strerror or type(exc).__name__})"
    return "ok" if os.access(root, os.W_OK) else "error: not writable"


async def _llm(service: TurnService) -> str | None:
    base = service.settings.llm_base_url
    if not base:
        return None
    headers = {"Authorization": f"Bearer {service.settings.llm_api_key}"}
    try:
        async with httpx.AsyncClient(timeout=LLM_PROBE_TIMEOUT_S) as client:
            reply = await client.get(base.rstrip("/") + "/models", headers=headers)
    except httpx.HTTPError as exc:
        return f"error: {type(exc).__name__}"
    if reply.status_code >= 400:
        return f"error: HTTP {reply.status_code}"
    try:
        models = reply.json().get("data")
    except (ValueError, AttributeError):
        models = None
    return "ok" if isinstance(models, list) else "error: not an OpenAI-compatible /models answer"


async def readiness_checks(service: TurnService) -> dict[str, str]:
    """``database``, ``artifacts``, ``llm`` (when configured): ``ok`` or ``error: ...``; plus planner and load."""
    loop = asyncio.get_running_loop()
    checks = {
        "database": await loop.run_in_executor(_PROBES, _database, service),
        "artifacts": await loop.run_in_executor(_PROBES, _artifacts, service),
    }
    llm = await _llm(service)
    if llm is not None:
        checks["llm"] = llm
    load = service.load
    checks["planner"] = service.agent.planner
    checks["load"] = f"{load['admitted']} admitted, {load['slots']} slots, queue {load['queue']}"
    return checks
