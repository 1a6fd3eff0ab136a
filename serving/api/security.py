"""API keys (stored hashed), per-key rate limits, and loopback detection."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select

from geovigie.core.db.models import ApiKey
from geovigie.core.db.store import Database
from geovigie.core.errors import ToolInputError

KEY_PREFIX = "gv_"


def hash_key(secret: str) -> str:
    """SHA-256 of a key (keys are 256-bit random tokens, so a fast hash is enough; no salt needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(db: Database, *, name: str, rate_per_minute: int = 60) -> tuple[str, str]:
    """Create an API key; the secret is returned once and only its hash is stored.

    Returns:
        (key id, secret).
    """
    if rate_per_minute < 1:
        raise ToolInputError(
            f"A key's rate must be at least 1 request per minute (got {rate_per_minute}).",
            hint="Revoke a key to stop it instead of giving it a rate of 0.",
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = secrets.token_hex(8)
    with db.session() as session:
        session.add(ApiKey(id=key_id, name=name, key_hash=hash_key(secret), rate_per_minute=rate_per_minute))
    return key_id, secret


def revoke_key(db: Database, key_id: str) -> bool:
    """Revoke a key; False when it does not exist."""
    with db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return False
        row.revoked = True
        return True


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    key_id: str
    name: str
    rate_per_minute: int


def authenticate(db: Database, secret: str) -> Principal | None:
    """The principal of a secret, or None when unknown or revoked (constant-time comparison)."""
    digest = hash_key(secret)
    with db.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.key_hash == digest)).first()
        if row is None or row.revoked or not hmac.compare_digest(row.key_hash, digest):
            return None
        return Principal(key_id=row.id, name=row.name, rate_per_minute=row.rate_per_minute)


class RateLimiter:
    """Token bucket per key: ``rate`` requests per minute, bursts up to ``rate``."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, rate_per_minute: int) -> tuple[bool, float]:
        """Take one token.

        Returns:
            (allowed, seconds to wait before retrying when refused).
        """
        now = time.monotonic()
        per_second = rate_per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(rate_per_minute), now))
            tokens = min(float(rate_per_minute), tokens + (now - last) * per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / per_second if per_second else 60.0


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
