"""The HTTP edge as one ASGI middleware: Host check, key check, streamed body limits, security headers.

It also applies the per-key rate limit to the chat's queue. It runs before FastAPI parses a body (FastAPI reads
the body before it resolves dependencies), so a caller without a valid key never gets a byte of its upload
buffered, and a chunked upload is cut at the limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException

from geovigie.core.settings import Settings
from geovigie.serving.api.security import Principal, authenticate

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
PROTECTED_PREFIXES = ("/v1/", "/docs", "/redoc", "/openapi.json")
"""Paths that need a key when keys are required (``/healthz`` and ``/readyz`` stay open for probes)."""
UPLOAD_PATH = "/gradio_api/upload"
QUEUE_JOIN_PATH = "/gradio_api/queue/join"
"""Every chat action (a question, an ingest) joins Gradio's queue here: the per-key rate limit applies to it."""

API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "frame-ancestors 'none'"
)


def ui_csp(tiles_url: str | None) -> str:
    """The chat's Content-Security-Policy: images only from its own origin (and the configured basemap's host).

    So no catalog metadata can make the browser call out (a remote image is a beacon), and no other site may
    frame the chat. Scripts and styles are left to Gradio, which needs inline ones and breaks under a stricter
    ``default-src`` (its layout tests fail).
    """
    tiles = ""
    if tiles_url:
        parts = urlsplit(tiles_url)
        tiles = f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return (
        f"img-src 'self' data: blob:{tiles}; media-src 'self' data: blob:; object-src 'none'; "
        "frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
    )


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes its limit (FastAPI maps it to a 413)."""

    def __init__(self, limit: int) -> None:
        """A 413 naming the limit."""
        super().__init__(status_code=413, detail=f"Request body over {limit} bytes.")


def host_name(host: str) -> str:
    """The name part of a ``Host`` header (port and IPv6 brackets removed), lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def bearer_secret(headers: Headers) -> str:
    """The key sent as ``Authorization: Bearer`` or ``X-API-Key`` (empty when none)."""
    header = headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else headers.get("x-api-key", "")


async def _json_error(send: Send, status: int, message: str, code: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"error": {"message": message, "type": "HTTPException", "code": code}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class EdgeGuard:
    """Pure ASGI middleware guarding every HTTP request (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, state: Any) -> None:
        """Wrap ``app``; ``state`` is the FastAPI app state (service, key requirement, rate limiter, sessions)."""
        self.app = app
        self.settings = settings
        self.state = state
        self.ui_csp = ui_csp(settings.ui_tiles_url)

    def host_allowed(self, host: str) -> bool:
        """Loopback names always; configured names; any name only when keys are required and none is configured."""
        name = host_name(host)
        allowed = {h.lower() for h in self.settings.api_allowed_hosts}
        if name in LOOPBACK_NAMES or name in allowed:
            return True
        return bool(self.state.require_keys) and not allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check, then pass the request on with a limited ``receive`` and a header-adding ``send``."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        if not self.host_allowed(headers.get("host", "")):
            await _json_error(send, 400, "Unknown Host header (set GEOVIGIE_API_ALLOWED_HOSTS).", "bad_host")
            return
        upload = path.startswith(UPLOAD_PATH)
        limit = self.settings.ui_max_upload_bytes if upload else self.settings.api_max_request_bytes
        length = headers.get("content-length")
        refusal = await self._refusal(scope, headers, path)
        if refusal is not None:
            status, message, code, extra = refusal
            await _json_error(send, status, message, code, extra)
            return
        if length and length.isdigit() and int(length) > limit:
            await _json_error(send, 413, f"Request body over {limit} bytes.", "too_large")
            return
        await self._forward(scope, receive, self._with_headers(send, path), limit)

    async def _refusal(self, scope: Scope, headers: Headers, path: str) -> tuple[int, str, str, dict[str, str]] | None:
        """401 before any body is read; 429 for a chat session over its key's rate."""
        if path.startswith(PROTECTED_PREFIXES) and scope.get("method") != "OPTIONS":  # CORS preflights carry no key
            secret = bearer_secret(headers)
            if not secret:
                if self.state.require_keys:
                    return 401, "An API key is required: send 'Authorization: Bearer <key>'.", "unauthorized", {}
                return None
            principal = await run_in_threadpool(authenticate, self.state.service.ctx.db, secret)
            if principal is None:
                return 401, "Invalid or revoked API key.", "unauthorized", {}
            scope.setdefault("state", {})["principal"] = principal
            return None
        if path.startswith(QUEUE_JOIN_PATH) and scope.get("method") == "POST":
            sessions = getattr(self.state, "ui_sessions", None)
            principal = sessions.principal(headers) if sessions is not None else None
            if principal is None and not self.state.require_keys:
                principal = Principal(key_id="anonymous", name="loopback", rate_per_minute=600)
            if principal is not None:
                allowed, wait = self.state.rate_limiter.allow(principal.key_id, principal.rate_per_minute)
                if not allowed:
                    retry = str(max(1, round(wait)))
                    return (
                        429,
                        f"Rate limit of {principal.rate_per_minute}/minute exceeded.",
                        "rate_limited",
                        {"Retry-After": retry},
                    )
        return None

    async def _forward(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except BodyTooLarge:
            if not started:  # a mounted app that did not map it: answer here
                await _json_error(send, 413, f"Request body over {limit} bytes.", "too_large")

    def _with_headers(self, send: Send, path: str) -> Send:
        api = path.startswith(("/v1/", "/healthz", "/readyz", "/openapi.json"))
        csp = API_CSP if api else DOCS_CSP if path.startswith(("/docs", "/redoc")) else self.ui_csp

        async def add(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.setdefault("x-content-type-options", "nosniff")
                out.setdefault("referrer-policy", "no-referrer")
                out.setdefault("x-frame-options", "DENY" if api else "SAMEORIGIN")
                out.setdefault("content-security-policy", csp)
                out.setdefault("cross-origin-opener-policy", "same-origin")
            await send(message)

        return add
