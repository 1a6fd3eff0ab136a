"""Faults around a turn: model endpoint down, slow or talking garbage; database locked; disk full; client gone.

Each fault must end in a clear answer or error, never a crash, and leave the thread usable (the next turn on
it works and the record holds whole turns only).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from sqlalchemy import func, select

import geovigie.tools.artifacts as artifacts_module
from geovigie.agent.checkpoint import sqlite_checkpointer
from geovigie.agent.runner import build_agent
from geovigie.core.db.models import Message, Thread, ToolRun
from geovigie.core.db.store import Database
from geovigie.serving.api.app import create_app
from geovigie.serving.api.recorder import thread_record
from geovigie.serving.api.service import TurnService
from geovigie.tools.artifacts import ArtifactStore
from geovigie.tools.base import ToolContext

# --- a stand-in OpenAI-compatible endpoint on loopback ---------------------------------------------------------


class _StandIn(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in "slow" mode must not hold the test up at shutdown
    mode = "text"
    requests: list[dict[str, Any]]


def _completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": "stand-in",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 1},
    }


def _call(name: str, arguments: str) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call-{time.monotonic_ns()}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ],
    }


def _unanswered_tool_call(messages: list[dict[str, Any]]) -> str | None:
    # What OpenAI and vLLM answer with HTTP 400: an assistant tool call without a tool message for its id.
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    for m in messages:
        for call in m.get("tool_calls") or []:
            if call["id"] not in answered:
                return str(call["id"])
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _StandIn

    def log_message(self, *_args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout): nothing to deliver
            pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request)
        mode = self.server.mode
        missing = _unanswered_tool_call(request["messages"])
        if missing:
            error = {"message": f"tool_call_id {missing} has no tool message", "type": "invalid_request_error"}
            self._send(400, json.dumps({"error": error}).encode())
        elif mode == "slow":
            time.sleep(5.0)
            self._send(200, json.dumps(_completion({"role": "assistant", "content": "too late"})).encode())
        elif mode == "garbage_json":
            self._send(200, b'{"choices": [{"message": {"role": "assist')
        elif mode == "bad_arguments":
            self._send(200, json.dumps(_completion(_call("quicklook", '{"item_id": "x",'))).encode())
        elif mode == "unknown_tool":
            self._send(200, json.dumps(_completion(_call("launch_satellite_" + "x" * 80, "{}"))).encode())
        else:
            self._send(200, json.dumps(_completion({"role": "assistant", "content": "All good."})).encode())


@pytest.fixture
def stand_in() -> Iterator[_StandIn]:
    server = _StandIn(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _llm_service(settings, ctx, base_url: str) -> TurnService:
    llm = settings.model_copy(update={"llm_base_url": base_url, "llm_model": "stand-in", "llm_timeout_s": 0.5})
    agent = build_agent(settings=llm, ctx=ctx, checkpointer=sqlite_checkpointer(llm))
    return TurnService(settings=llm, ctx=ctx, agent=agent)


def _user_questions(db: Database, thread_id: str) -> list[str]:
    record = thread_record(db, thread_id) or {"messages": []}
    return [m["content"] for m in record["messages"] if m["role"] == "user"]


def _assert_recovers(service: TurnService, server: _StandIn, thread_id: str) -> None:
    """The thread is not corrupted: a well-behaved endpoint answers the next turn on it."""
    server.mode = "text"
    answer = service.ask("And now?", thread_id=thread_id)
    assert answer.status == "answered" and answer.text == "All good.", answer.text
    assert _user_questions(service.ctx.db, thread_id)[-1] == "And now?"


# --- model endpoint faults ---------------------------------------------------------------------------------------


def test_model_endpoint_down_is_reported_in_the_answer(settings, ctx):
    service = _llm_service(settings, ctx, f"http://127.0.0.1:{_free_port()}/v1")
    answer = service.ask("How many trees are in OSBS_029.tif?", thread_id="down")
    assert answer.status == "error" and answer.trace == []
    assert "model endpoint failed" in answer.text and "Connection" in answer.text
    assert _user_questions(ctx.db, "down") == ["How many trees are in OSBS_029.tif?"]


def test_slow_model_endpoint_times_out_with_a_clear_answer(settings, ctx, stand_in):
    service = _llm_service(settings, ctx, f"http://127.0.0.1:{stand_in.server_port}/v1")
    stand_in.mode = "slow"
    started = time.monotonic()
    answer = service.ask("Flood extent near Orihuela?", thread_id="slow")
    assert time.monotonic() - started < 4.5  # llm_timeout_s (0.5 s) per try, not the endpoint's 5 s
    assert answer.status == "error" and "model endpoint failed" in answer.text and "Timeout" in answer.text
    _assert_recovers(service, stand_in, "slow")


def test_malformed_json_from_the_endpoint_is_reported(settings, ctx, stand_in):
    service = _llm_service(settings, ctx, f"http://127.0.0.1:{stand_in.server_port}/v1")
    stand_in.mode = "garbage_json"
    answer = service.ask("What imagery do you have of Paris?", thread_id="garbage")
    assert answer.status == "error" and "model endpoint failed" in answer.text
    _assert_recovers(service, stand_in, "garbage")


def test_malformed_tool_arguments_go_back_to_the_model_then_stop(settings, ctx, stand_in):
    service = _llm_service(settings, ctx, f"http://127.0.0.1:{stand_in.server_port}/v1")
    stand_in.mode = "bad_arguments"
    answer = service.ask("Show me x", thread_id="badargs")
    assert answer.status == "error" and "invalid tool calls" in answer.text
    assert answer.trace and all(not s.ok and s.error_type == "ToolInputError" for s in answer.trace)
    # The model was told what was wrong, in a tool message answering its call.
    told = [m for m in stand_in.requests[1]["messages"] if m["role"] == "tool"]
    assert told and "not valid JSON" in told[0]["content"]
    _assert_recovers(service, stand_in, "badargs")


def test_tool_outside_the_registry_is_refused_then_stops(settings, ctx, stand_in):
    service = _llm_service(settings, ctx, f"http://127.0.0.1:{stand_in.server_port}/v1")
    stand_in.mode = "unknown_tool"
    answer = service.ask("Launch a satellite", thread_id="unknown")
    assert answer.status == "error" and "invalid tool calls" in answer.text
    assert answer.trace and {s.error_type for s in answer.trace} == {"UnknownTool"}
    told = [m for m in stand_in.requests[1]["messages"] if m["role"] == "tool"]
    assert "Unknown tool" in told[0]["content"] and "quicklook" in told[0]["content"]
    with ctx.db.session() as s:  # the hallucinated name fits the column (PostgreSQL enforces lengths)
        names = s.scalars(select(ToolRun.tool).where(ToolRun.thread_id == "unknown")).all()
    assert names and all(len(n) <= 64 for n in names)
    _assert_recovers(service, stand_in, "unknown")


# --- server-side faults with a scripted planner -------------------------------------------------------------------


def _echo_planner(item_id: str, *, delay_s: float = 0.0):
    """Calls quicklook once per turn, then answers with what the tool said (so errors reach the answer)."""

    def plan(messages):
        last = messages[-1]
        if isinstance(last, ToolMessage):
            time.sleep(delay_s)
            return AIMessage(content=f"Tool said: {last.content}")
        return AIMessage(
            content="",
            tool_calls=[{"name": "quicklook", "args": {"item_id": item_id}, "id": "q", "type": "tool_call"}],
        )

    return RunnableLambda(plan)


def _scene(ctx, make_geotiff, register) -> str:
    data = np.random.default_rng(7).integers(100, 3000, size=(3, 24, 24), dtype=np.uint16)
    path = make_geotiff(data, name="fault.tif")
    return register(ctx, path, item_id="fault-scene", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])


def _scripted(settings, ctx, item: str, **kw) -> TurnService:
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        model=_echo_planner(item, **kw),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)


@pytest.fixture
def quick_lock_ctx(settings) -> ToolContext:
    """A context whose SQLite waits 0.1 s for a lock (the default 10 s would make these tests slow)."""
    settings.ensure_dirs()
    db = Database(settings.resolved_db_url, sqlite_busy_timeout_s=0.1)
    return ToolContext(settings=settings, db=db, artifacts=ArtifactStore(settings.resolved_artifacts_dir))


def _hold_write_lock(db_path: Path, seconds: float) -> threading.Thread:
    locked = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert locked.wait(5)
    return holder


def _db_path(ctx: ToolContext) -> Path:
    return Path(ctx.db.url.removeprefix("sqlite:///"))


def test_briefly_locked_database_is_retried_and_the_turn_recorded(settings, quick_lock_ctx, make_geotiff, register):
    ctx = quick_lock_ctx
    service = _scripted(settings, ctx, _scene(ctx, make_geotiff, register))
    service.record_backoff_s = 0.2
    holder = _hold_write_lock(_db_path(ctx), 0.5)
    answer = service.ask("show me fault-scene", thread_id="busy")
    holder.join()
    assert answer.status == "answered" and not any("not saved" in n for n in answer.notes)
    record = thread_record(ctx.db, "busy")
    assert record is not None and [m["role"] for m in record["messages"]] == ["user", "assistant"]


def test_database_locked_past_the_retries_answers_and_writes_nothing_half(
    settings, quick_lock_ctx, make_geotiff, register
):
    ctx = quick_lock_ctx
    service = _scripted(settings, ctx, _scene(ctx, make_geotiff, register))
    service.record_attempts, service.record_backoff_s = 2, 0.05
    holder = _hold_write_lock(_db_path(ctx), 2.0)
    answer = service.ask("show me fault-scene", thread_id="locked")
    assert answer.status == "answered" and answer.text.startswith("Tool said:")
    assert any("not saved" in n and "locked" in n for n in answer.notes)
    holder.join()
    with ctx.db.session() as s:  # all or nothing: no thread, message or tool run of the failed record
        assert s.get(Thread, "locked") is None
        assert s.scalar(select(func.count()).select_from(Message).where(Message.thread_id == "locked")) == 0
        assert s.scalar(select(func.count()).select_from(ToolRun).where(ToolRun.thread_id == "locked")) == 0
    # Once the lock is gone the same thread goes on and is recorded.
    again = service.ask("show me it again", thread_id="locked")
    assert not again.notes or not any("not saved" in n for n in again.notes)
    assert _user_questions(ctx.db, "locked") == ["show me it again"]


class _FullDisk:
    """The ``os`` module as the artifact store sees it, except that writing a file fails with ENOSPC."""

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    @staticmethod
    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        real = os.fdopen(fd, *args, **kwargs)

        class _Full:
            def __enter__(self) -> _Full:
                return self

            def __exit__(self, *exc: Any) -> None:
                real.close()

            def write(self, _data: bytes) -> int:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return _Full()


def test_disk_full_for_artifacts_reaches_the_answer(settings, ctx, make_geotiff, register, monkeypatch):
    service = _scripted(settings, ctx, _scene(ctx, make_geotiff, register))
    monkeypatch.setattr(artifacts_module, "os", _FullDisk())
    answer = service.ask("show me fault-scene", thread_id="full")
    step = answer.trace[0]
    assert not step.ok and step.error_type == "TerminalError"
    assert "No space left on device" in answer.text and "Free disk space" in answer.text
    assert answer.artifacts == []
    assert not list(ctx.artifacts.root.glob("*.part"))  # no half-written file left behind
    assert _user_questions(ctx.db, "full") == ["show me fault-scene"]


def test_disk_full_reaches_the_offline_planners_answer(settings, ctx, make_geotiff, register, monkeypatch):
    # The real offline planner, on a synthetic lake scene: the failed step is named with the disk's error.
    lake = np.full((4, 48, 48), [[[900]], [[1100]], [[3000]], [[2200]]], dtype=np.uint16)
    lake[:, 10:30, 10:30] = np.array([300, 500, 200, 100], dtype=np.uint16)[:, None, None]
    path = make_geotiff(lake, name="fault_lake.tif")
    bands = [("B04", "red"), ("B03", "green"), ("B08", "nir"), ("B11", "swir16")]
    register(ctx, path, item_id="fault-lake", bands=bands, scale=1e-4)
    agent = build_agent(settings=settings, ctx=ctx, checkpointer=sqlite_checkpointer(settings))
    service = TurnService(settings=settings, ctx=ctx, agent=agent)
    monkeypatch.setattr(artifacts_module, "os", _FullDisk())
    answer = service.ask("What is the water area in fault_lake.tif?", thread_id="full-offline")
    failed = [s for s in answer.trace if not s.ok]
    assert failed and failed[-1].error_type == "TerminalError"
    assert "No space left on device" in answer.text and answer.figures == []
    assert _user_questions(ctx.db, "full-offline") == ["What is the water area in fault_lake.tif?"]


def test_client_disconnecting_mid_stream_still_gets_the_turn_recorded(settings, ctx, make_geotiff, register):
    service = _scripted(settings, ctx, _scene(ctx, make_geotiff, register), delay_s=1.0)
    app = create_app(settings, service=service)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    base = f"http://127.0.0.1:{server.config.port}"
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with httpx.Client(base_url=base, timeout=10) as client:
            with client.stream("POST", "/v1/chat", json={"question": "show me fault-scene", "thread_id": "gone"}) as r:
                first = next(line for line in r.iter_lines() if line.startswith("event: "))
            # The connection is closed here, while the planner still works on its answer.
            assert first == "event: plan"
            # The question is recorded as soon as the turn starts (a killed turn leaves a trace), not the answer.
            early = client.get("/v1/threads/gone").json()["messages"]
            assert [(m["role"], m["payload"]["status"]) for m in early] == [("user", "running")]
            deadline = time.monotonic() + 15
            while len((reply := client.get("/v1/threads/gone")).json()["messages"]) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            messages = reply.json()["messages"]
            assert [m["role"] for m in messages] == ["user", "assistant"]
            assert messages[0]["payload"]["status"] == "answered"
            assert messages[1]["content"].startswith("Tool said:")
            assert client.get("/healthz").status_code == 200
    finally:
        server.should_exit = True
        runner.join(timeout=10)


def test_failed_turns_keep_the_api_usable(settings, ctx, make_geotiff, register, monkeypatch):
    # The same disk-full fault through the HTTP API: a 200 answer that says so, and the thread readable after.
    service = _scripted(settings, ctx, _scene(ctx, make_geotiff, register))
    monkeypatch.setattr(artifacts_module, "os", _FullDisk())
    with TestClient(create_app(settings, service=service)) as client:
        body = client.post("/v1/ask", json={"question": "show me fault-scene", "thread_id": "api-full"}).json()
        assert "No space left on device" in body["text"]
        assert client.get("/v1/threads/api-full").json()["messages"][1]["content"] == body["text"]


def test_overload_runs_at_most_max_concurrent_turns_at_once(settings, ctx):
    # More simultaneous turns than slots: the extra ones wait (in order) instead of all sharing the CPU.
    running, peak, guard = 0, 0, threading.Lock()

    def plan(_messages):
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
        time.sleep(0.15)
        with guard:
            running -= 1
        return AIMessage(content="done")

    agent = build_agent(settings=settings, ctx=ctx, model=RunnableLambda(plan), planner_name="scripted")
    service = TurnService(settings=settings, ctx=ctx, agent=agent, max_concurrent_turns=2)
    answers: list[str] = []
    workers = [
        threading.Thread(target=lambda i=i: answers.append(service.ask("hi", thread_id=f"o{i}").text)) for i in range(6)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=20)
    assert answers == ["done"] * 6 and peak == 2
