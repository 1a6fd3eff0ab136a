"""Database open = Alembic upgrade to head: new, current, legacy (create_all) and racing databases."""

from __future__ import annotations

import datetime as dt
import math
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, event, insert, inspect, select, text

from geovigie.core.db import migrate
from geovigie.core.db.models import Base, CatalogItem, Message, Thread, ToolRun
from geovigie.core.db.store import Database, _sqlite_pragmas, json_dumps, normalize_url
from geovigie.core.errors import ConfigError

TABLES = {
    "catalog_items", "threads", "messages", "tool_runs", "artifacts", "api_keys", "eval_runs", "tiled_runs",
    "tiled_run_tiles",
}  # fmt: skip
HEAD = migrate.head_revision()


def _url(tmp_path: Path, name: str = "gv.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def test_new_database_is_built_by_the_migrations_and_matches_the_models(tmp_path):
    db = Database(_url(tmp_path))
    assert db.schema.before is None and db.schema.after == migrate.head_revision() == HEAD
    assert migrate.current_revision(db.engine) == HEAD
    insp = inspect(db.engine)
    assert TABLES | {"alembic_version"} == set(insp.get_table_names())
    indexed = {(t, tuple(ix["column_names"])) for t in TABLES for ix in insp.get_indexes(t)}
    assert {
        ("catalog_items", ("collection",)),
        ("catalog_items", ("datetime",)),
        ("catalog_items", ("source_path",)),
        ("messages", ("thread_id",)),
        ("tool_runs", ("thread_id",)),
    } <= indexed
    # Alembic's autogenerate comparison: the migrated schema is exactly the models' metadata.
    assert migrate.schema_diff(db.engine) == []
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_reopening_a_current_database_runs_no_migration(tmp_path, monkeypatch):
    Database(_url(tmp_path))

    def refuse(*_args, **_kwargs):
        raise AssertionError("a database at head must not run Alembic commands")

    monkeypatch.setattr(command, "upgrade", refuse)
    monkeypatch.setattr(command, "stamp", refuse)
    again = Database(_url(tmp_path))
    assert again.schema.before == again.schema.after == HEAD and not again.schema.stamped_legacy


def _legacy_engine(url: str):
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas(10_000))
    Base.metadata.create_all(engine)  # the path every database took before migrations existed
    return engine


def test_database_made_by_create_all_is_adopted_without_losing_rows(tmp_path):
    url = _url(tmp_path)
    engine = _legacy_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(CatalogItem).values(
                id="old-item",
                collection="c",
                source_path="/x.tif",
                fingerprint="f",
                stac={"id": "old-item"},
                georeferenced=True,
                ingested_at=dt.datetime.now(dt.UTC),
            )
        )
        now = dt.datetime.now(dt.UTC)
        conn.execute(insert(Thread).values(id="t1", title="kept", created_at=now, updated_at=now))
        conn.execute(insert(Message).values(thread_id="t1", role="user", content="hi", payload={}, created_at=now))
    engine.dispose()

    db = Database(url)
    assert db.schema.before is None and db.schema.stamped_legacy and db.schema.after == HEAD
    assert migrate.schema_diff(db.engine) == []
    with db.session() as s:
        item = s.get(CatalogItem, "old-item")
        assert item is not None and item.stac == {"id": "old-item"}
        assert [m.content for m in s.scalars(select(Message).where(Message.thread_id == "t1"))] == ["hi"]
        s.add(ToolRun(thread_id="t1", tool="quicklook", inputs={}))  # and the adopted schema takes new rows
    assert Database(url).schema.before == HEAD


def test_half_made_database_gets_its_missing_tables(tmp_path):
    # A crash during the old create_all could leave some tables only: IF NOT EXISTS completes the schema.
    url = _url(tmp_path)
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["threads"], Base.metadata.tables["api_keys"]])
    with engine.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        conn.execute(insert(Thread).values(id="t", title="x", created_at=now, updated_at=now))
    engine.dispose()
    db = Database(url)
    assert not db.schema.stamped_legacy and TABLES <= set(inspect(db.engine).get_table_names())
    assert migrate.schema_diff(db.engine) == []
    with db.session() as s:
        assert s.get(Thread, "t") is not None


def test_migrations_downgrade_to_empty_and_upgrade_again(tmp_path):
    db = Database(_url(tmp_path))
    with db.engine.begin() as conn:
        command.downgrade(migrate.alembic_config(conn), "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert migrate.current_revision(db.engine) is None
    assert Database(_url(tmp_path)).schema.before is None
    assert migrate.schema_diff(db.engine) == []


def test_threads_opening_a_new_database_at_once_all_succeed(tmp_path):
    url, errors, barrier = _url(tmp_path), [], threading.Barrier(4)

    def open_db():
        barrier.wait()
        try:
            Database(url)
        except Exception as exc:  # collected: the assertion below shows it
            errors.append(exc)

    workers = [threading.Thread(target=open_db) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=30)
    assert errors == []
    db = Database(url)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    url = _url(tmp_path)
    code = f"from core.db.store import Database; Database({url!r})"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, cwd=Path.cwd())
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs if p.wait(timeout=60) != 0]
    assert errors == []
    assert migrate.schema_diff(Database(url).engine) == []


def test_alembic_cli_sees_no_pending_change(tmp_path):
    # The CLI path of env.py (its own engine from -x url): what a developer runs before writing a revision.
    url = _url(tmp_path)
    Database(url)
    ini = Path(migrate.__file__).with_name("migrations") / "alembic.ini"
    run = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "-x", f"url={url}", "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "No new upgrade operations detected" in run.stdout + run.stderr


def test_json_columns_store_non_finite_numbers_as_null(tmp_path):
    assert json_dumps({"a": [1.5, math.nan], "b": {"c": math.inf}}) == '{"a": [1.5, null], "b": {"c": null}}'
    db = Database(_url(tmp_path))
    with db.session() as s:
        s.add(ToolRun(tool="count", inputs={"x": 1}, provenance={"mean": math.nan, "n": 3}))
    with db.session() as s:
        assert s.scalars(select(ToolRun)).one().provenance == {"mean": None, "n": 3}


def test_plain_postgres_urls_use_psycopg3():
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_unreachable_database_is_a_config_error_without_the_password():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConfigError) as err:
        Database(f"postgresql://gv:s3cr3t-pw@127.0.0.1:{port}/gv?connect_timeout=2")
    assert "Cannot open the database" in err.value.user_message and "s3cr3t-pw" not in err.value.user_message
    with pytest.raises(ConfigError):
        Database("nosuchdialect://x")
