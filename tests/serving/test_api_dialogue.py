"""Clarifications and follow-ups over the HTTP API: the dialogue state lives with the thread and survives a restart."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from geovigie.agent.offline import OfflinePlanner
from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.evals.dialogue_accuracy import stub_tools
from geovigie.evals.dialogue_world import DialogueWorld
from geovigie.serving.api.app import create_app
from geovigie.serving.api.service import TurnService


def _service(settings, ctx) -> TurnService:
    """The offline planner on stub tools (no imagery needed), with the product's SQLite checkpointer."""
    world = DialogueWorld({})
    planner = OfflinePlanner(ctx=ctx, today=lambda: date(2026, 12, 1))
    agent = build_agent(settings=settings, ctx=ctx, tools=stub_tools(world, lambda: "api"), model=planner,
                        planner_name="offline", checkpointer=sqlite_checkpointer(settings))  # fmt: skip
    return TurnService(settings=settings, ctx=ctx, agent=agent)


def test_a_reply_fills_the_clarification_after_a_restart_and_the_polygons_come_back(settings, ctx):
    with TestClient(create_app(settings, service=_service(settings, ctx))) as c:
        first = c.post("/v1/ask", json={"question": "Inondations à Valencia en octobre 2024 ?", "thread_id": "d1"})
    asked = first.json()
    assert asked["status"] == "clarify" and "Espagne" in asked["text"] and "(ES)" not in asked["text"]
    # a new server process: the thread's state comes back from the checkpoints
    with TestClient(create_app(settings, service=_service(settings, ctx))) as c:
        reply = c.post("/v1/ask", json={"question": "Espagne", "thread_id": "d1"}).json()
        shown = c.post("/v1/ask", json={"question": "montre-moi les polygones", "thread_id": "d1"}).json()
    assert reply["status"] == "answered" and reply["language"] == "fr"
    assert reply["trace"][0]["args"] == {"query": "Valencia", "country": "ES"}
    searches = [s["args"] for s in reply["trace"] if s["tool"] == "search_imagery"]
    assert searches[-1]["start"] == "2024-10-01" and searches[-1]["end"] == "2024-10-31"  # the dates were kept
    assert shown["trace"] == [] and shown["status"] == "answered"
    assert {a["id"] for a in shown["artifacts"]} <= {a["id"] for a in reply["artifacts"]}
    assert any(a["kind"] == "geojson" for a in shown["artifacts"]) and "/stub/" not in shown["text"]
