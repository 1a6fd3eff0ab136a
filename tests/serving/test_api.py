"""The HTTP API with a scripted planner: shapes, SSE, OpenAI compatibility, keys, limits, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.serving.api.app import create_app
from geovigie.serving.api.security import create_key, revoke_key
from geovigie.serving.api.service import TurnService


def _planner(item_id):
    """Calls quicklook on the first planner call of a turn, then answers."""

    def plan(messages):
        if isinstance(messages[-1], AIMessage) or messages[-1].type == "human":
            return AIMessage(
                content="",
                tool_calls=[{"name": "quicklook", "args": {"item_id": item_id}, "id": "q", "type": "tool_call"}],
            )
        return AIMessage(content=f"Quicklook ready for {item_id}.")

    return RunnableLambda(plan)


@pytest.fixture
def service(settings, ctx, make_geotiff, register):
    data = np.random.default_rng(2).integers(100, 3000, size=(3, 32, 32), dtype=np.uint16)
    item = register(
        ctx,
        make_geotiff(data, name="api.tif"),
        item_id="api-scene",
        bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")],
    )
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        model=_planner(item),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)


@pytest.fixture
def client(settings, service):
    with TestClient(create_app(settings, service=service)) as c:
        yield c


def test_ask_returns_answer_with_trace_and_persists_thread(client):
    r = client.post("/v1/ask", json={"question": "show me api-scene", "thread_id": "th-1"})
    assert r.status_code == 200
    body = r.json()
    assert body["text"].startswith("Quicklook ready") and body["trace"][0]["tool"] == "quicklook"
    art = body["artifacts"][0]
    got = client.get(f"/v1/artifacts/{art['id']}")
    assert got.status_code == 200 and got.headers["content-type"] == "image/png" and got.content[:4] == b"\x89PNG"
    thread = client.get("/v1/threads/th-1").json()
    assert [m["role"] for m in thread["messages"]] == ["user", "assistant"]
    assert thread["messages"][1]["payload"]["trace"][0]["ok"] is True


def test_chat_streams_typed_events_as_sse(client):
    with client.stream("POST", "/v1/chat", json={"question": "show me api-scene"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("event: ") :] for line in r.iter_lines() if line.startswith("event: ")]
    assert events[0] == "plan" and "tool_started" in events and "tool_finished" in events
    assert events[-2:] == ["answer", "final"]


def test_openai_compatible_completions(client):
    payload = {"model": "geovigie", "messages": [{"role": "user", "content": "show me api-scene"}], "user": "oa-1"}
    body = client.post("/v1/chat/completions", json=payload).json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["content"].startswith("Quicklook")
    with client.stream("POST", "/v1/chat/completions", json={**payload, "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.startswith("Quicklook ready") and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_errors_share_one_shape(client):
    r = client.post("/v1/ask", json={"question": ""})
    assert r.status_code == 422 and set(r.json()["error"]) == {"message", "type", "code"}
    r = client.get("/v1/threads/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/v1/artifacts/..%2F..%2Fetc%2Fpasswd")
    assert r.status_code in (404, 422) and "error" in r.json()
    r = client.post("/v1/catalog/ingest", json={"paths": ["../../etc"]})
    assert r.status_code == 422 and "outside the data folder" in r.json()["error"]["message"]


def test_request_size_limit(settings, service):
    settings.api_max_request_bytes = 100
    with TestClient(create_app(settings, service=service)) as c:
        r = c.post("/v1/ask", json={"question": "x" * 500})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_keys_required_off_loopback_hashed_and_rate_limited(settings, service):
    settings.api_host = "0.0.0.0"
    app = create_app(settings, service=service)
    with TestClient(app) as c:
        assert c.post("/v1/ask", json={"question": "hi"}).status_code == 401
        key_id, secret = create_key(service.ctx.db, name="ci", rate_per_minute=2)
        from geovigie.core.db.models import ApiKey

        with service.ctx.db.session() as s:
            assert secret not in s.get(ApiKey, key_id).key_hash
        h = {"Authorization": f"Bearer {secret}"}
        assert c.get("/v1/threads", headers=h).status_code == 200
        assert c.get("/v1/threads", headers=h).status_code == 200
        r = c.get("/v1/threads", headers=h)
        assert r.status_code == 429 and "Retry-After" in r.headers
        revoke_key(service.ctx.db, key_id)
        assert c.get("/v1/threads", headers=h).status_code == 401
        assert c.get("/healthz").status_code == 200


def test_thread_continues_after_restart(settings, ctx, service):
    with TestClient(create_app(settings, service=service)) as c:
        c.post("/v1/ask", json={"question": "first", "thread_id": "keep"})
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        model=service.agent.graph.nodes and _planner("api-scene"),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    again = TurnService(settings=settings, ctx=ctx, agent=agent)
    with TestClient(create_app(settings, service=again)) as c:
        c.post("/v1/ask", json={"question": "second", "thread_id": "keep"})
        msgs = c.get("/v1/threads/keep").json()["messages"]
    assert [m["content"] for m in msgs if m["role"] == "user"] == ["first", "second"]
    assert len(again.agent.history("keep")) == 2


def test_readyz_and_openapi(client):
    assert client.get("/readyz").json()["database"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    for p in [
        "/v1/ask",
        "/v1/chat",
        "/v1/chat/completions",
        "/v1/threads/{thread_id}",
        "/v1/artifacts/{artifact_id}",
        "/v1/catalog/search",
        "/v1/catalog/ingest",
        "/healthz",
        "/readyz",
    ]:
        assert p in paths


def test_openai_python_client_talks_to_a_live_server(settings, service):
    """The official `openai` client, over real HTTP: GeoVigie behaves as an OpenAI-compatible model."""
    import socket
    import threading
    import time

    import uvicorn
    from openai import OpenAI

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, service=service), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        _key_id, secret = create_key(service.ctx.db, name="openai-client")
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=secret)
        reply = client.chat.completions.create(
            model="geovigie", messages=[{"role": "user", "content": "show me api-scene"}], user="oa-live"
        )
        assert (reply.choices[0].message.content or "").startswith("Quicklook ready")
        stream = client.chat.completions.create(
            model="geovigie", messages=[{"role": "user", "content": "and again"}], user="oa-live", stream=True
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
        assert text.startswith("Quicklook ready")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
