"""Large runs over HTTP: the cost estimate gates a run until the request confirms it; runs are listed and cancelled."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.core.db import TiledRun
from geovigie.serving.api.app import create_app
from geovigie.serving.api.runs_routes import split_confirmation
from geovigie.serving.api.service import TurnService
from geovigie.serving.api.ui_mount import build_hooks


def _planner(item_id):
    def plan(messages):
        if messages[-1].type == "human":
            call = {"name": "segment", "args": {"item_id": item_id, "target": "water"}, "id": "s", "type": "tool_call"}
            return AIMessage(content="", tool_calls=[call])
        return AIMessage(content=f"Done: {messages[-1].content}"[:400])

    return RunnableLambda(plan)


@pytest.fixture
def client(settings, ctx, make_geotiff, register):
    data = np.random.default_rng(3).integers(100, 3000, size=(4, 40, 40), dtype=np.uint16)
    bands = [("B03", "green"), ("B04", "red"), ("B08", "nir"), ("B11", "swir16")]
    item = register(ctx, make_geotiff(data, name="big.tif"), item_id="big-scene", bands=bands, scale=1e-4)
    small = settings.model_copy(update={"confirm_pixels": 1000})  # 40 x 40 px is a "large" run here
    ctx.settings = small
    agent = build_agent(settings=small, ctx=ctx, model=_planner(item), planner_name="scripted",
                        checkpointer=sqlite_checkpointer(small))  # fmt: skip
    with TestClient(create_app(small, service=TurnService(settings=small, ctx=ctx, agent=agent))) as c:
        yield c


def test_a_large_run_waits_for_confirmation(client):
    refused = json.dumps(client.post("/v1/ask", json={"question": "water in big-scene?"}).json())
    assert "Large run: 0 Mpx in 1 tiles" in refused and "confirm:" in refused and "confirm_large_runs" in refused
    ok = client.post("/v1/ask", json={"question": "water in big-scene?", "confirm_large_runs": True}).json()
    assert "Large run" not in json.dumps(ok)
    assert any(step.get("tool") == "segment" and step.get("ok", True) for step in ok.get("trace", []))


def test_a_chat_question_starting_with_confirm_confirms_its_runs(client):
    hooks = build_hooks(lambda: client.app.state.service)
    events = list(hooks.stream("confirm: water in big-scene?", "th-confirm"))
    final = next(e for e in events if e["type"] == "final")["answer"]
    assert "Large run" not in json.dumps(final) and final["question"] == "water in big-scene?"
    assert split_confirmation("Confirmer : eau ?") == ("eau ?", True)
    assert split_confirmation("confirmed water") == ("confirmed water", False)


def test_runs_are_listed_and_cancelled(client):
    db = client.app.state.service.ctx.db
    with db.session() as s:
        s.add(TiledRun(id="r1", tool="segment", title="segment water", state="running", total_tiles=8, done_tiles=2,
                       work_dir="/tmp/r1", owner="elsewhere:1"))  # fmt: skip
    listed = client.get("/v1/runs").json()
    assert [(r["id"], r["state"], r["coverage"]) for r in listed] == [("r1", "running", 0.25)]
    assert client.post("/v1/runs/r1/cancel").json() == {"id": "r1", "cancel_requested": True}
    with db.session() as s:
        assert s.get(TiledRun, "r1").cancel_requested
    assert client.post("/v1/runs/nope/cancel").status_code == 404
