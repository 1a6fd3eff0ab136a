"""The FastAPI application: built once per process with its settings, context, agent and service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from geovigie.core.settings import Settings
from geovigie.serving.api.edge import EdgeGuard
from geovigie.serving.api.errors import install_error_handlers
from geovigie.serving.api.recorder import mark_interrupted
from geovigie.serving.api.routes import router
from geovigie.serving.api.security import RateLimiter, is_loopback
from geovigie.serving.api.service import TurnService
from geovigie.tools.raster import recover_runs

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, service: TurnService | None = None, mount_ui: bool = False) -> FastAPI:
    """Build the HTTP app.

    Args:
        settings: The process settings.
        service: A ready turn service (tests pass one); by default built from settings at start-up.
        mount_ui: Also serve the Gradio chat at ``/``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            app.state.service = build_service(settings)
        interrupted = mark_interrupted(app.state.service.ctx.db)
        if interrupted:
            logger.warning("%d turns were interrupted by the end of the previous process", interrupted)
        for run in recover_runs(app.state.service.ctx.db):  # long tiled runs left by a previous process
            logger.warning("tiled run %s (%s) was interrupted at %.0f %% of its tiles; asking again resumes it",
                           run.id, run.title, 100 * run.coverage)  # fmt: skip
        yield

    app = FastAPI(
        title="GeoVigie API",
        version="0.1.0",
        description="Ask questions about places and risks; answers measured on satellite imagery with provenance.",
        lifespan=lifespan,
    )
    app.state.service = service
    require = settings.api_require_keys
    app.state.require_keys = (not is_loopback(settings.api_host)) if require is None else require
    app.state.rate_limiter = RateLimiter()
    install_error_handlers(app)
    app.add_middleware(EdgeGuard, settings=settings, state=app.state)  # runs before any body is read
    # Browsers may call only from configured origins; Gradio defers to this middleware when it is present.
    # Outermost, so that the edge's own refusals (401, 413, 429) carry CORS headers for those origins too.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api_cors_origins,
        allow_credentials=bool(settings.api_cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-GeoVigie-Thread"],
    )
    app.include_router(router)
    from geovigie.serving.api.bundle_routes import bundle_router  # GET /v1/threads/{id}/bundle

    app.include_router(bundle_router)
    from geovigie.serving.api.runs_routes import runs_router  # GET /v1/runs, POST /v1/runs/{id}/cancel

    app.include_router(runs_router)
    if mount_ui:
        from geovigie.serving.api.ui_mount import mount_chat_ui

        mount_chat_ui(app, settings)
    return app


def build_service(settings: Settings) -> TurnService:
    """The default service: tool context, agent with the configured planner, SQLite checkpoints."""
    from geovigie.agent.checkpoint import make_checkpointer
    from geovigie.agent.runner import build_agent
    from geovigie.tools.base import ToolContext

    ctx = ToolContext.from_settings(settings)
    agent = build_agent(settings=settings, ctx=ctx, checkpointer=make_checkpointer(settings))
    return TurnService(
        settings=settings,
        ctx=ctx,
        agent=agent,
        max_concurrent_turns=settings.max_concurrent_turns,
        max_queued_turns=settings.max_queued_turns,
    )
