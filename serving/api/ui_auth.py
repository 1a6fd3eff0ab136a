"""Sign-in for the chat when keys are required: a session cookie checked against its key on every request.

Gradio's own login checks the password once and then trusts its cookie forever (a revoked key kept working),
and sets it ``SameSite=None``. Here the session maps to the key's id, every request re-reads the key (revoked:
signed out at once), and the cookie is ``HttpOnly``, ``SameSite=Strict`` and ``Secure`` off loopback.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import Headers

from geovigie.core.db.models import ApiKey
from geovigie.core.db.store import Database
from geovigie.serving.api.security import Principal, authenticate

COOKIE = "geovigie_session"
MAX_SESSIONS = 10_000
"""Oldest sessions are forgotten beyond this (memory stays bounded whatever the number of sign-ins)."""

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GeoVigie sign-in</title>
<style>body{{font-family:sans-serif;max-width:26em;margin:4em auto}}input{{display:block;width:100%;margin:.4em 0 1em}}
</style></head><body><h1>GeoVigie</h1><p>{message}</p><form method="post" action="login">
<label>User name<input name="username" autocomplete="username"></label>
<label>API key<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>"""


class UiSessions:
    """Session token -> key id, in memory (a restart signs everyone out, which is safe)."""

    def __init__(self, db: Callable[[], Database]) -> None:
        """An empty table; ``db`` is looked up on use (the service starts after the routes are mounted)."""
        self.db = db
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, key_id: str) -> str:
        """A new session for a key."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._tokens) >= MAX_SESSIONS:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = key_id
        return token

    def principal(self, headers: Headers) -> Principal | None:
        """The live (not revoked) key behind a request's session cookie, or None."""
        cookies = headers.get("cookie", "")
        token = next(
            (c.split("=", 1)[1].strip() for c in cookies.split(";") if c.strip().startswith(COOKIE + "=")), None
        )
        with self._lock:
            key_id = self._tokens.get(token or "")
        if key_id is None:
            return None
        with self.db().session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.id == key_id)).first()
            if row is None or row.revoked:
                with self._lock:
                    self._tokens.pop(token or "", None)
                return None
            return Principal(key_id=row.id, name=row.name, rate_per_minute=row.rate_per_minute)

    def user(self, request: Request) -> str | None:
        """Gradio's ``auth_dependency``: the key id of a live session, else None (Gradio answers 401)."""
        principal = self.principal(request.headers)
        return principal.key_id if principal else None


def install_login(app: FastAPI, sessions: UiSessions, *, secure: bool) -> None:
    """``GET /login`` (a form) and ``POST /login`` (sets the cookie); ``/`` redirects there when signed out."""

    @app.get("/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(LOGIN_PAGE.format(message="Sign in with any user name and a GeoVigie API key."))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        secret = str(form.get("password") or "")
        principal = authenticate(sessions.db(), secret) if secret else None
        if principal is None:
            page = LOGIN_PAGE.format(message=html.escape("Unknown or revoked key: try again."))
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse("./", status_code=303)
        response.set_cookie(
            COOKIE, sessions.create(principal.key_id), httponly=True, samesite="strict", secure=secure, path="/"
        )
        return response

    @app.middleware("http")
    async def signed_out_to_login(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if request.method == "GET" and request.url.path == "/" and sessions.principal(request.headers) is None:
            return RedirectResponse("/login", status_code=303)
        return await call_next(request)
