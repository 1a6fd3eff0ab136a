"""Database handle: engine and session factory built from a URL, schema migrated to head on open."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from geovigie.core.db import migrate
from geovigie.core.errors import ConfigError, UpstreamError

logger = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Route plain PostgreSQL URLs to psycopg 3 (SQLAlchemy's default driver for them is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_dumps(value: Any) -> str:
    """JSON for the JSON columns: NaN and infinities become null.

    PostgreSQL rejects them outright, and a row holding them could not be served as JSON by the API later.
    """
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # WAL lets readers (UI, API) work while a writer (ingest, agent) commits; busy_timeout absorbs short
        # locks.
        cur = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL takes a lock, and without the timeout a concurrent opener fails
        # at once with "database is locked".
        cur.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def _engine(url: str) -> Engine:
    if url.startswith("postgresql"):
        # UTC sessions: naive datetimes bound by the code mean UTC, as they do on SQLite; pre-ping survives a
        # server restart between requests.
        return create_engine(
            url,
            json_serializer=json_dumps,
            pool_pre_ping=True,
            connect_args={"options": "-c timezone=UTC"},
        )
    return create_engine(url, json_serializer=json_dumps)


class Database:
    """Engine plus session factory; the schema is migrated to the newest revision on open."""

    def __init__(self, url: str, *, sqlite_busy_timeout_s: float = 10.0) -> None:
        """Open (and create or upgrade if needed) the database at ``url``.

        Args:
            url: SQLAlchemy URL, e.g. ``sqlite:///path/geovigie.db`` or ``postgresql://user:pw@host/db``
                (plain PostgreSQL URLs use psycopg 3).
            sqlite_busy_timeout_s: How long a SQLite statement waits for another writer's lock before failing.

        Raises:
            ConfigError: when the database cannot be opened or migrated.
        """
        self.url = normalize_url(url)
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = _engine(self.url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas(round(sqlite_busy_timeout_s * 1000)))
            self.schema: migrate.UpgradeReport = migrate.upgrade(self.engine)
        except (SQLAlchemyError, ImportError, CommandError) as exc:
            raise ConfigError(
                f"Cannot open the database at {_redacted(self.url)!r}: {exc}.",
                hint="Check GEOVIGIE_DB_URL (or GEOVIGIE_HOME) points to a reachable, writable database.",
            ) from exc
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._shm = _shm_path(self.url) if self.engine.dialect.name == "sqlite" else None
        self._shm_size = 0
        self.check_shared_memory()

    def check_shared_memory(self) -> None:
        """Keep SQLite's WAL index (``-shm``) usable, or fail this request instead of the process.

        SQLite maps the ``-shm`` file into memory: if something truncates it, the next access through a mapping
        beyond the new end raises SIGBUS and kills the process without a log line. Extending the file back to the
        size it had (zeros) makes SQLite rebuild the index from the WAL instead. Called on every session (one
        ``stat``).

        Raises:
            UpstreamError: the file cannot be restored (not writable).
        """
        if self._shm is None:
            return
        try:
            size = self._shm.stat().st_size
        except FileNotFoundError:
            return
        if size >= self._shm_size and os.access(self._shm, os.W_OK):
            self._shm_size = max(size, _SHM_REGION)
            return
        try:
            with open(self._shm, "r+b") as fh:
                fh.truncate(max(self._shm_size, _SHM_REGION))
        except OSError as exc:
            raise UpstreamError(
                "The database's shared-memory file (-shm) was truncated or made read-only.",
                hint="Make the database folder writable again (GEOVIGIE_HOME); no data was written.",
            ) from exc
        logger.warning("SQLite -shm was %d bytes (expected %d): restored", size, self._shm_size)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        self.check_shared_memory()
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


_SHM_REGION = 32768
"""SQLite maps its WAL index in regions of 32 KiB."""


def _shm_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    return Path(url.removeprefix("sqlite:///") + "-shm")


def _redacted(url: str) -> str:
    # Error messages reach logs and API clients: never echo a password.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL holds no recognisable password field
        return url
