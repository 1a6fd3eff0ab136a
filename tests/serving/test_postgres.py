"""GeoVigie on a real PostgreSQL server: migrations, catalog, a full API turn, restart continuity.

Runs when GEOVIGIE_TEST_POSTGRES_URL names a database the tests may wipe (CI starts one with
``.ci/postgres.sh``); each test starts from an empty ``public`` schema.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from sqlalchemy import create_engine, insert, inspect, select, text

from geovigie.agent.checkpoint import make_checkpointer
from geovigie.agent.runner import build_agent
from geovigie.core.db import migrate
from geovigie.core.db.models import Artifact, Base, CatalogItem, Message, Thread, ToolRun
from geovigie.core.db.store import Database, normalize_url
from geovigie.serving.api.app import create_app
from geovigie.serving.api.service import TurnService
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.store import get_scene, query_items, upsert_item

PG_URL = os.environ.get("GEOVIGIE_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(
    not PG_URL,
    reason='GEOVIGIE_TEST_POSTGRES_URL not set: start a server with `eval "$(bash .ci/postgres.sh start)"`',
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The test database, emptied (the checkpointer's tables too)."""
    engine = create_engine(normalize_url(PG_URL))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield PG_URL


@pytest.fixture
def pg_settings(settings, pg_url):
    return settings.model_copy(update={"db_url": pg_url})


@pytest.fixture
def pg_ctx(pg_settings) -> ToolContext:
    return ToolContext.from_settings(pg_settings)


def test_migrations_build_the_models_schema_on_postgres(pg_url):
    db = Database(pg_url)
    assert db.engine.dialect.name == "postgresql" and db.schema.after == migrate.head_revision()
    assert migrate.schema_diff(db.engine) == []
    assert Database(pg_url).schema.before == db.schema.after  # reopening is a no-op
    columns = {c["name"]: c["type"] for c in inspect(db.engine).get_columns("catalog_items")}
    assert type(columns["stac"]).__name__ == "JSON" and columns["datetime"].timezone  # type: ignore[attr-defined]


def test_create_all_database_is_adopted_on_postgres(pg_url):
    engine = create_engine(normalize_url(pg_url))
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        now = dt.datetime.now(dt.UTC)
        conn.execute(insert(Thread).values(id="old", title="kept", created_at=now, updated_at=now))
    engine.dispose()
    db = Database(pg_url)
    assert db.schema.stamped_legacy and migrate.schema_diff(db.engine) == []
    with db.session() as s:
        assert s.get(Thread, "old") is not None


def _item(item_id: str, when: str, bbox: list[float]) -> dict[str, object]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": "pg-test",
        "geometry": None,
        "bbox": bbox,
        "properties": {"datetime": when, "gsd": 10.0, "eo:cloud_cover": 3.5, "note": "é ü ✓"},
        "assets": {"data": {"href": f"/data/{item_id}.tif", "roles": ["data"]}},
        "links": [],
    }


def test_catalog_upsert_get_and_query_on_postgres(pg_ctx):
    db = pg_ctx.db
    bordeaux = _item("bordeaux-2016", "2016-06-01T10:30:00+02:00", [-0.7, 44.8, -0.5, 44.9])
    assert upsert_item(db, bordeaux, source_path="/data/oscd/bordeaux/2016.tif", fingerprint="f1")
    assert not upsert_item(db, bordeaux, source_path="/data/oscd/bordeaux/2016.tif", fingerprint="f1")
    assert upsert_item(
        db, _item("paris-2020", "2020-03-01T00:00:00Z", [2.2, 48.8, 2.5, 48.9]), source_path="/p.tif", fingerprint="f2"
    )
    assert get_scene(db, "bordeaux-2016").id == "bordeaux-2016"
    assert get_scene(db, "2016.tif").id == "bordeaux-2016"  # by file name
    assert get_scene(db, "Bordeaux/2016.TIF").id == "bordeaux-2016"  # case-insensitive, as on SQLite
    with db.session() as s:
        row = s.get(CatalogItem, "bordeaux-2016")
        assert row is not None and row.stac["properties"]["note"] == "é ü ✓"
        # timestamptz: the +02:00 instant is kept (08:30 UTC), and read back timezone-aware.
        assert row.datetime == dt.datetime(2016, 6, 1, 8, 30, tzinfo=dt.UTC)
    utc = dt.UTC
    hits = query_items(
        db,
        bbox=(-1.0, 44.0, 0.0, 45.0),
        start=dt.datetime(2016, 1, 1, tzinfo=utc),
        end=dt.datetime(2016, 12, 31, tzinfo=utc),
    )
    assert [s.id for s in hits] == ["bordeaux-2016"]
    assert [s.id for s in query_items(db, start=dt.datetime(2019, 1, 1, tzinfo=utc))] == ["paris-2020"]


def _planner(item_id: str, tool: str = "quicklook"):
    def plan(messages):
        if messages[-1].type == "human":
            return AIMessage(
                content="", tool_calls=[{"name": tool, "args": {"item_id": item_id}, "id": "q", "type": "tool_call"}]
            )
        return AIMessage(content=f"Quicklook ready for {item_id}.")

    return RunnableLambda(plan)


def _service(settings, ctx, item: str, tool: str = "quicklook") -> TurnService:
    checkpointer = make_checkpointer(settings)
    assert type(checkpointer).__name__ == "PostgresSaver"
    agent = build_agent(
        settings=settings, ctx=ctx, model=_planner(item, tool), planner_name="scripted", checkpointer=checkpointer
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)


def _scene(ctx, make_geotiff, register) -> str:
    data = np.random.default_rng(5).integers(100, 3000, size=(3, 32, 32), dtype=np.uint16)
    path = make_geotiff(data, name="pg.tif")
    return register(ctx, path, item_id="pg-scene", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])


def test_api_turn_is_persisted_in_postgres(pg_settings, pg_ctx, make_geotiff, register):
    item = _scene(pg_ctx, make_geotiff, register)
    service = _service(pg_settings, pg_ctx, item)
    with TestClient(create_app(pg_settings, service=service)) as client:
        body = client.post("/v1/ask", json={"question": "Show me pg-scene", "thread_id": "pg-1"}).json()
        assert body["text"].startswith("Quicklook ready") and body["trace"][0]["ok"]
        thread = client.get("/v1/threads/pg-1").json()
        assert [m["role"] for m in thread["messages"]] == ["user", "assistant"]
        assert thread["messages"][1]["payload"]["trace"][0]["tool"] == "quicklook"
        assert client.get("/v1/threads").json()[0]["id"] == "pg-1"
        assert client.get(f"/v1/artifacts/{body['artifacts'][0]['id']}").content[:4] == b"\x89PNG"
        assert client.get("/readyz").json()["database"] == "ok"
    with pg_ctx.db.session() as s:
        assert s.get(Thread, "pg-1") is not None
        assert len(s.scalars(select(Message).where(Message.thread_id == "pg-1")).all()) == 2
        run = s.scalars(select(ToolRun).where(ToolRun.thread_id == "pg-1")).one()
        assert run.tool == "quicklook" and run.ok and run.provenance["tool"] == "quicklook"
        art = s.get(Artifact, body["artifacts"][0]["id"])
        assert art is not None and art.media_type == "image/png"


def test_thread_continues_after_restart_on_postgres(pg_settings, pg_ctx, make_geotiff, register):
    item = _scene(pg_ctx, make_geotiff, register)
    with TestClient(create_app(pg_settings, service=_service(pg_settings, pg_ctx, item))) as client:
        client.post("/v1/ask", json={"question": "first", "thread_id": "keep"})
    # A new process: new Database, new checkpointer pool, new service.
    fresh_ctx = ToolContext.from_settings(pg_settings)
    again = _service(pg_settings, fresh_ctx, item)
    with TestClient(create_app(pg_settings, service=again)) as client:
        client.post("/v1/ask", json={"question": "second", "thread_id": "keep"})
        messages = client.get("/v1/threads/keep").json()["messages"]
    assert [m["content"] for m in messages if m["role"] == "user"] == ["first", "second"]
    history = again.agent.history("keep")
    assert len(history) == 2 and history[0]["question"] == "first"


def test_postgres_refuses_nothing_the_agent_can_produce(pg_settings, pg_ctx, make_geotiff, register):
    # PostgreSQL enforces what SQLite lets pass: lengths, valid JSON (no NaN). A hallucinated long tool name
    # and non-finite numbers must still be recorded.
    item = _scene(pg_ctx, make_geotiff, register)
    service = _service(pg_settings, pg_ctx, item, tool="t" * 300)
    answer = service.ask("Show me pg-scene", thread_id="long")
    assert not answer.notes, answer.notes
    with pg_ctx.db.session() as s:
        assert len(s.scalars(select(ToolRun.tool).where(ToolRun.thread_id == "long")).one()) == 64
        s.add(ToolRun(tool="count", inputs={}, provenance={"mean": math.nan, "max": math.inf}))
    with pg_ctx.db.session() as s:
        assert s.scalars(select(ToolRun).where(ToolRun.tool == "count")).one().provenance == {"mean": None, "max": None}
