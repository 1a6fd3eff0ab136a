"""The MCP server over streamable HTTP, behind the HTTP service's API keys and per-key rate limits."""

from __future__ import annotations

import anyio.to_thread
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from geovigie.core.db.store import Database
from geovigie.core.settings import Settings
from geovigie.serving.api.errors import error_response
from geovigie.serving.api.security import Principal, RateLimiter, authenticate, is_loopback
from geovigie.serving.api.service import TurnService
from geovigie.serving.mcp.server import PRINCIPAL_STATE, build_server

MCP_PATH = "/mcp"
LOOPBACK_PRINCIPAL = Principal(key_id="anonymous", name="loopback", rate_per_minute=600)
"""Who calls without a key where keys are not required (the HTTP API's anonymous loopback caller)."""


class KeyGate:
    """ASGI gate: ``Authorization: Bearer <key>`` or ``X-API-Key``, then the key's rate limit, as the API does.

    Every HTTP request of the transport counts (an MCP session sends a few: initialize, list, each call).
    """

    def __init__(self, app: ASGIApp, *, db: Database, require_keys: bool, limiter: RateLimiter) -> None:
        """Wrap ``app``.

        Args:
            app: The MCP Starlette app.
            db: Where the hashed keys live.
            require_keys: Refuse callers without a key (the API's rule: required unless bound to loopback).
            limiter: The token buckets, one per key.
        """
        self.app, self.db, self.require_keys, self.limiter = app, db, require_keys, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the caller, then hand the request to the MCP app."""
        if scope["type"] != "http":  # lifespan: the session manager starts and stops with the app
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        auth = headers.get("authorization", "")
        secret = auth[7:].strip() if auth.lower().startswith("bearer ") else headers.get("x-api-key", "")
        principal: Principal | None = None
        if secret:
            principal = await anyio.to_thread.run_sync(authenticate, self.db, secret)
            if principal is None:
                await error_response(401, "Invalid or revoked API key.", "HTTPException", "unauthorized")(
                    scope, receive, send
                )
                return
        elif self.require_keys:
            message = (
                "An API key is required: send 'Authorization: Bearer <key>' (create one with `geovigie keys create`)."
            )
            await error_response(401, message, "HTTPException", "unauthorized")(scope, receive, send)
            return
        principal = principal or LOOPBACK_PRINCIPAL
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal  # the handlers record threads under its key
        allowed, wait = self.limiter.allow(principal.key_id, principal.rate_per_minute)
        if not allowed:
            message = f"Rate limit of {principal.rate_per_minute} requests/minute exceeded; retry in {wait:.0f} s."
            retry = {"Retry-After": str(max(1, round(wait)))}
            await error_response(429, message, "HTTPException", "rate_limited", headers=retry)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _host_guard(settings: Settings) -> TransportSecuritySettings | None:
    """The API's Host allow-list (``api_allowed_hosts``, plus loopback names) as the SDK's DNS-rebinding guard.

    None leaves the SDK's default: guarded to loopback names when bound to loopback, open otherwise (keys are
    then required).
    """
    if not settings.api_allowed_hosts:
        return None
    names = ["127.0.0.1", "localhost", "[::1]", *settings.api_allowed_hosts]
    loopback_origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    return TransportSecuritySettings(
        allowed_hosts=[pattern for name in names for pattern in (name, f"{name}:*")],
        allowed_origins=[*loopback_origins, *settings.api_cors_origins],
    )


def mcp_http_app(service: TurnService, *, settings: Settings, host: str) -> KeyGate:
    """The streamable HTTP app (endpoint ``/mcp``) behind the key gate.

    Args:
        service: The turn service the tools and ``ask`` run on.
        settings: Key policy (``api_require_keys``) and request size limit (``api_max_request_bytes``).
        host: The bind address: loopback enables the SDK's DNS-rebinding protection and, unless
            ``api_require_keys`` says otherwise, lets callers in without a key (as the HTTP API does).
    """
    app = build_server(service).streamable_http_app(
        streamable_http_path=MCP_PATH,
        host=host,
        max_request_body_size=settings.api_max_request_bytes,
        transport_security=_host_guard(settings),
    )
    require = settings.api_require_keys
    return KeyGate(
        app,
        db=service.ctx.db,
        require_keys=(not is_loopback(host)) if require is None else require,
        limiter=RateLimiter(),
    )
