"""Faults around a turn: model endpoint down, slow or talking garbage; database locked; disk full; client gone.

Each fault must end in a clear answer or error, never a crash, and leave the thread usable (the next turn on
it works and the record holds whole turns only).
"""

from __future__ import annotations

import errno
import os
import socket
import sqlite3
import threading
import time
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user_questions(db: Database, thread_id: str) -> list[str]:
    record = thread_record(db, thread_id) or {"messages": []}
    return [m["content"] for m in record["messages"] if m["role"] == "user"]


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
