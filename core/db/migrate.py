"""Schema migrations, run in code: every :class:`~geovigie.core.db.store.Database` opens at the newest Alembic revision.

The revisions live in ``core/db/migrations`` (shipped inside the package). Opening a database that is
already at head costs one small query; a new database is built by the migrations; a database made by the
older ``create_all`` path (tables but no ``alembic_version``) is stamped at the baseline revision and then
upgraded, keeping its rows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from geovigie.core.db.models import Base

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BASELINE_REVISION = "0001"
"""The revision equal to the schema ``Base.metadata.create_all`` built before migrations existed."""
BASELINE_TABLES = frozenset({"catalog_items", "threads", "messages", "tool_runs", "artifacts", "api_keys", "eval_runs"})
_PG_LOCK_KEY = 0x47656F56  # any constant: serialises concurrent upgrades of one PostgreSQL database
_RACE_ATTEMPTS = 5
_PROCESS_LOCK = threading.Lock()  # Alembic's `context` and `op` are process-wide proxies: one run at a time


@dataclass(frozen=True)
class UpgradeReport:
    """What opening the database did to its schema."""

    before: str | None
    """Revision found (None: new database, or one made by ``create_all``)."""
    after: str
    """Revision now (always head)."""
    stamped_legacy: bool
    """True when tables made by ``create_all`` were adopted at the baseline revision."""
    duration_s: float


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config on the packaged migrations, optionally bound to a live connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision of the packaged migrations (parsed once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only if the versions folder were missing from the install
        raise RuntimeError(f"No Alembic revision found under {MIGRATIONS_DIR / 'versions'}.")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in the database (None when it has no ``alembic_version``)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> UpgradeReport:
    """Bring the database to the head revision; a no-op (one query) when it is already there.

    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database refused a migration step.
    """
    for attempt in range(1, _LOCKED_ATTEMPTS + 1):
        try:
            return _upgrade_once(engine)
        except OperationalError as exc:
            # SQLite answers "database is locked" at once (no busy wait) when two fresh openers race on the
            # journal-mode switch or on a read-then-write upgrade: back off and look again.
            if "locked" not in str(exc) or attempt == _LOCKED_ATTEMPTS:
                raise
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


_LOCKED_ATTEMPTS = 6


def _upgrade_once(engine: Engine) -> UpgradeReport:
    started = time.perf_counter()
    head = head_revision()
    before = current_revision(engine)
    if before == head:
        return UpgradeReport(before, head, False, time.perf_counter() - started)
    stamped = False
    for attempt in range(1, _RACE_ATTEMPTS + 1):
        try:
            with _PROCESS_LOCK:
                stamped = _upgrade_locked(engine, head)
            break
        except (SQLAlchemyError, CommandError):
            # SQLite has no advisory lock: processes opening a new database at the same moment race on
            # alembic_version, and the losers fail (a SQL error, or alembic reading a half-written version table:
            # "revision 0003 overlaps with 0001"). Wait for the winner, then find head or take over.
            if attempt == _RACE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
            if current_revision(engine) == head:
                break
    report = UpgradeReport(before, head, stamped, time.perf_counter() - started)
    logger.info("database schema %s -> %s in %.3f s", before or "empty", head, report.duration_s)
    if stamped:
        diff = schema_diff(engine)
        if diff:
            logger.warning("database made by create_all differs from the models after upgrade: %s", diff)
    return report


def _upgrade_locked(engine: Engine, head: str) -> bool:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Transaction-scoped: released at commit, and PostgreSQL's DDL is transactional, so a crash
            # mid-upgrade leaves the previous revision intact.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:  # a rival finished while we waited for the lock
            return False
        cfg = alembic_config(conn)
        stamped = current is None and BASELINE_TABLES <= set(inspect(conn).get_table_names())
        if stamped:
            logger.info("adopting tables made by create_all at revision %s", BASELINE_REVISION)
            command.stamp(cfg, BASELINE_REVISION)
        command.upgrade(cfg, "head")
        return stamped


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic filter: compare only GeoVigie's own tables.

    The LangGraph Postgres checkpointer keeps its tables in the same database; autogenerate must neither
    drop them nor report them as differences.
    """
    return not (type_ == "table" and reflected and compare_to is None)


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the database's schema and the models (empty when they match).

    Tables that GeoVigie does not own (e.g. the LangGraph checkpointer's) are ignored.
    """
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        return list(compare_metadata(ctx, Base.metadata))
