"""The LangGraph checkpointer (resumable thread state), chosen from the database URL of the settings.

SQLite URLs (the default) keep checkpoints in a SQLite file beside the database; PostgreSQL URLs keep them in
the same PostgreSQL database, in the checkpointer's own tables (``checkpoints``, ``checkpoint_blobs``,
``checkpoint_writes``, ``checkpoint_migrations``), so that every replica of the service sees every thread.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from geovigie.core.errors import ConfigError
from geovigie.core.settings import Settings

_SETUP_LOCK_KEY = 0x47564350  # serialises the checkpointer's own table migrations across processes


def sqlite_checkpointer(settings: Settings) -> SqliteSaver:
    """Checkpoints in a SQLite file in the GeoVigie home (survives restarts)."""
    settings.ensure_dirs()
    conn = sqlite3.connect(settings.checkpoint_path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    return SqliteSaver(conn)


def is_postgres_url(url: str) -> bool:
    """True for ``postgresql://``, ``postgres://`` and ``postgresql+driver://`` URLs."""
    return url.startswith(("postgresql://", "postgres://", "postgresql+"))


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (without the ``+driver`` part)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgres") else url


def postgres_checkpointer(url: str, *, max_connections: int = 4) -> BaseCheckpointSaver[Any]:
    """Checkpoints in a PostgreSQL database, its tables created or migrated on first use.

    Args:
        url: SQLAlchemy or libpq URL of the database.
        max_connections: Pool size (the saver serialises its own calls, so a few connections are enough).

    Raises:
        ConfigError: when ``langgraph-checkpoint-postgres`` is not installed or the server cannot be reached.
    """
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as exc:
        raise ConfigError(
            f"PostgreSQL checkpoints need the langgraph-checkpoint-postgres package ({exc}).",
            hint='pip install -e ".[postgres]"',
        ) from exc
    conninfo = libpq_url(url)
    try:
        with psycopg.connect(conninfo, autocommit=True) as lock_conn:
            # setup() runs the saver's migrations without a lock: two processes starting together would race.
            lock_conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
            with psycopg.connect(conninfo, autocommit=True, prepare_threshold=0, row_factory=dict_row) as conn:
                PostgresSaver(conn).setup()
        pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_connections,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            check=ConnectionPool.check_connection,  # a restarted server costs one reconnect, not a failed turn
            open=True,
        )
    except psycopg.Error as exc:
        raise ConfigError(
            f"Cannot open PostgreSQL checkpoints: {exc}.", hint="Check GEOVIGIE_DB_URL and that the server is up."
        ) from exc
    return PostgresSaver(pool)


def make_checkpointer(settings: Settings) -> BaseCheckpointSaver[Any]:
    """The checkpointer for the configured database: PostgreSQL when ``db_url`` is one, else SQLite."""
    url = settings.resolved_db_url
    if is_postgres_url(url):
        return postgres_checkpointer(url)
    return sqlite_checkpointer(settings)
