"""FastAPI dependencies: the turn service and the caller's identity (API key + rate limit)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from geovigie.serving.api.security import Principal, authenticate
from geovigie.serving.api.service import TurnService

ANONYMOUS = Principal(key_id="anonymous", name="loopback", rate_per_minute=600)


def service_of(request: Request) -> TurnService:
    """The service built in the app's lifespan."""
    service: TurnService = request.app.state.service
    return service


def require_principal(request: Request) -> Principal:
    """Authenticate with ``Authorization: Bearer <key>`` or ``X-API-Key``, then apply the key's rate limit.

    Raises:
        HTTPException: 401 without a valid key when keys are required; 429 over the rate limit.
    """
    state = request.app.state
    header = request.headers.get("authorization", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
    principal: Principal | None = getattr(request.state, "principal", None)  # checked by the edge already
    if principal is None and secret:
        principal = authenticate(state.service.ctx.db, secret)
        if principal is None:
            raise HTTPException(status_code=401, detail="Invalid or revoked API key.")
    elif principal is None and state.require_keys:
        raise HTTPException(
            status_code=401,
            detail=(
                "An API key is required: send 'Authorization: Bearer <key>' (create one with `geovigie keys create`)."
            ),
        )
    principal = principal or ANONYMOUS
    allowed, wait = state.rate_limiter.allow(principal.key_id, principal.rate_per_minute)
    if not allowed:
        raise HTTPException(
            status_code=429,
            detail=f"Rate limit of {principal.rate_per_minute} requests/minute exceeded; retry in {wait:.0f} s.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    return principal
