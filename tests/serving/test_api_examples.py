"""Labelled examples over the HTTP API: /v1/ask and /v1/chat carry them to the planner; the thread keeps them.

On the Sen1Floods11 sample with the offline planner and the real map_from_examples (skipped without the data).
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from fastapi.testclient import TestClient

from geovigie.agent.offline import OfflinePlanner
from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.serving.api.app import create_app
from geovigie.serving.api.service import TurnService
from geovigie.tools.catalog.ingest import ingest_paths

S2 = "sen1floods11-Spain_7370579_S2Hand"
BOX = "[-0.7795, 38.0995, -0.7755, 38.1035]"
POINTS = [{"label": "water", "point": [-0.77772, 38.10074]}, {"label": "land", "point": [-0.77574, 38.10251]}]


@pytest.fixture
def client(settings, ctx, data_dir):
    ingest_paths([data_dir / "sen1floods11_sample"], ctx.db)
    planner = OfflinePlanner(ctx=ctx, today=lambda: date(2026, 11, 25))
    agent = build_agent(settings=settings, ctx=ctx, model=planner, planner_name="offline",
                        checkpointer=sqlite_checkpointer(settings))  # fmt: skip
    with TestClient(create_app(settings, service=TurnService(settings=settings, ctx=ctx, agent=agent))) as c:
        yield c


def test_ask_carries_examples_and_the_thread_keeps_them(client):
    first = client.post("/v1/ask", json={"question": f"map water vs land from my points in bbox {BOX}",
                                         "thread_id": "ex", "examples": POINTS})  # fmt: skip
    answer = first.json()
    assert first.status_code == 200 and answer["status"] == "answered", answer
    step = next(s for s in answer["trace"] if s["tool"] == "map_from_examples")
    assert step["args"]["examples"] == POINTS and step["args"]["item_id"] == S2
    assert {"water area", "land area"} <= {f["name"] for f in answer["figures"]}
    again = client.post("/v1/ask", json={"question": f"and again from my points in bbox {BOX}", "thread_id": "ex"})
    step = next(s for s in again.json()["trace"] if s["tool"] == "map_from_examples")
    assert step["args"]["examples"] == POINTS  # from the thread's dialogue state


def test_chat_stream_carries_examples_and_bad_examples_are_refused(client):
    body = {"question": f"map water vs land from my points in bbox {BOX}", "examples": POINTS}
    with client.stream("POST", "/v1/chat", json=body) as reply:
        lines = [line for line in reply.iter_lines() if line.startswith("data: ")]
    final = json.loads(lines[-1][6:])
    assert final["type"] == "final" and final["answer"]["status"] == "answered"
    assert any(s["tool"] == "map_from_examples" for s in final["answer"]["trace"])
    bad = client.post("/v1/ask", json={"question": "map from my points", "examples": [{"point": [1.0, 2.0]}]})
    assert bad.status_code == 422 and "label" in bad.text
