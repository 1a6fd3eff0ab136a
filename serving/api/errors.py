"""Map errors to the one JSON shape ``{"error": {message, type, code}}`` (the HTTP edge)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geovigie.core.errors import GeoVigieError, OverloadedError

logger = logging.getLogger(__name__)


def error_response(
    status: int, message: str, type_: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error in the API's single shape."""
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": type_, "code": code}}, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so that every error leaves the API in the same shape, never as a traceback."""

    @app.exception_handler(GeoVigieError)
    async def _geovigie(_request: Request, exc: GeoVigieError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, OverloadedError) else None
        return error_response(exc.status_code, exc.user_message, type(exc).__name__, exc.code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        return error_response(422, "Invalid request: " + "; ".join(parts), "RequestValidationError", "invalid_request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "too_large", 429: "rate_limited"}
        return error_response(
            exc.status_code,
            str(exc.detail),
            "HTTPException",
            code.get(exc.status_code, "http_error"),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(500, "Internal error; it has been logged.", "InternalError", "internal_error")
