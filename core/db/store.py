"""Database handle: engine and session factory built from a URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Base
from core.errors import ConfigError


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers (UI, API) work while a writer (ingest, agent) commits; busy_timeout absorbs short locks.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Database:
    """Engine plus session factory; tables are created on first use."""

    def __init__(self, url: str) -> None:
        """Open (and create if needed) the database at ``url``.

        Args:
            url: SQLAlchemy URL, e.g. ``sqlite:///path/geovigie.db`` or ``postgresql+psycopg://...``.

        Raises:
            ConfigError: when the database cannot be opened.
        """
        self.url = url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(url, future=True)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            Base.metadata.create_all(self.engine)
        except (OperationalError, ImportError) as exc:
            raise ConfigError(
                f"Cannot open the database at {url!r}: {exc}.",
                hint="Check GEOVIGIE_DB_URL (or GEOVIGIE_HOME) points to a writable location.",
            ) from exc
        self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
