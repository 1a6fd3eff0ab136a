"""Faults: kill -9 mid-turn, SQLite -shm truncated under a live server (finding 11), read-only database and
artifacts, dead/slow/garbage LLM endpoints seen by /readyz, and failures inside a streamed completion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

import geovigie.tools.artifacts as artifacts_module
from geovigie.core.db.store import Database
from geovigie.core.errors import TerminalError
from geovigie.serving.api.recorder import thread_record

SERVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import uvicorn
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableLambda
    from geovigie.agent.runner import build_agent
    from geovigie.core.settings import Settings
    from geovigie.serving.api.app import create_app
    from geovigie.serving.api.service import TurnService
    from geovigie.tools.base import ToolContext

    settings = Settings(home=Path(sys.argv[1]), _env_file=None)
    ctx = ToolContext.from_settings(settings)
    delay = float(sys.argv[3])

    def plan(_messages):
        time.sleep(delay)
        return AIMessage(content="done")

    agent = build_agent(settings=settings, ctx=ctx, model=RunnableLambda(plan), planner_name="scripted")
    app = create_app(settings, service=TurnService(settings=settings, ctx=ctx, agent=agent))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def _start(home: Path, port: int, *, delay_s: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(home), str(port), str(delay_s)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    pytest.fail("server did not start")


@pytest.fixture
def port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_kill_9_mid_turn_leaves_the_question_marked_interrupted(tmp_path, port, settings, make_service, make_app):
    home = tmp_path / "home"
    proc = _start(home, port, delay_s=30)
    try:
        with httpx.stream(
            "POST", f"http://127.0.0.1:{port}/v1/chat", json={"question": "slow one", "thread_id": "k9"}, timeout=10
        ) as reply:
            assert reply.status_code == 200
            time.sleep(1.0)  # the turn is running inside the planner now
            os.kill(proc.pid, signal.SIGKILL)
    except httpx.HTTPError:
        pass
    finally:
        proc.kill()
        proc.wait(timeout=10)
    db = Database(f"sqlite:///{home / 'geovigie.db'}")
    record = thread_record(db, "k9")
    assert record is not None and [(m["role"], m["payload"]["status"]) for m in record["messages"]] == [
        ("user", "running")
    ]
    from geovigie.serving.api.recorder import mark_interrupted  # new with this fix: imported here

    assert mark_interrupted(db) == 1  # what the next start-up does
    again = thread_record(db, "k9")
    assert again is not None
    statuses = [m["payload"]["status"] for m in again["messages"]]
    assert statuses == ["interrupted"]


def test_truncated_shm_under_a_live_server_fails_no_process(tmp_path, port):
    home = tmp_path / "home"
    proc = _start(home, port, delay_s=0)
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.post(base + "/v1/ask", json={"question": "one"}, timeout=30).status_code == 200
        shm = home / "geovigie.db-shm"
        assert shm.exists()
        os.truncate(shm, 0)  # what killed the server with SIGBUS (no log line)
        after = httpx.post(base + "/v1/ask", json={"question": "two"}, timeout=30)
        assert proc.poll() is None, f"server died with {proc.returncode}"
        assert after.status_code in (200, 503)
        assert httpx.get(base + "/readyz", timeout=10).status_code == 200  # repaired
        assert httpx.get(base + "/v1/threads", timeout=10).status_code == 200
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_readyz_reports_a_read_only_database(settings, make_service, make_app):
    service = make_service()

    @event.listens_for(service.ctx.db.engine, "connect")
    def read_only(dbapi_conn, _record):  # SQLite refuses every write, as on a read-only file
        dbapi_conn.execute("PRAGMA query_only=1")

    service.ctx.db.engine.dispose()
    with TestClient(make_app(service)) as client:
        reply = client.get("/readyz")
    assert reply.status_code == 503 and reply.json()["database"].startswith("error")


def test_read_only_artifacts_folder_is_a_clear_error(ctx, monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(artifacts_module.tempfile, "mkstemp", refuse)  # type: ignore[attr-defined]
    with pytest.raises(TerminalError, match="Permission denied"):
        ctx.artifacts.save_json({"a": 1}, title="t", role="r")


class _Endpoint(BaseHTTPRequestHandler):
    mode = "garbage"

    def log_message(self, *_args):
        pass

    def do_GET(self):  # noqa: N802
        if self.server.mode == "slow":  # type: ignore[attr-defined]
            time.sleep(5)
        body = b"<html>not json</html>" if self.server.mode == "garbage" else b'{"data": []}'  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("mode", ["dead", "slow", "garbage"])
def test_readyz_is_not_ready_when_the_llm_endpoint_is_unusable(settings, make_service, make_app, mode):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    server.daemon_threads = True
    server.mode = mode  # type: ignore[attr-defined]
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    port = server.server_address[1]
    if mode == "dead":
        server.shutdown()
        server.server_close()
    settings.llm_base_url = f"http://127.0.0.1:{port}/v1"
    try:
        with TestClient(make_app(make_service())) as client:
            start = time.perf_counter()
            reply = client.get("/readyz")
            elapsed = time.perf_counter() - start
    finally:
        if mode != "dead":
            server.shutdown()
            server.server_close()
    assert reply.status_code == 503 and reply.json()["llm"].startswith("error"), reply.json()
    assert elapsed < 4.0


def test_a_failing_streamed_completion_ends_with_an_error_chunk_and_done(settings, make_service, make_app):
    service = make_service()

    class Breaking:
        planner = "scripted"

        def stream(self, question, *, thread_id=None):
            yield {"type": "answer", "text": "partial"}
            raise RuntimeError("the worker died mid-turn")

    service.agent = Breaking()  # type: ignore[assignment]
    body = {"model": "geovigie", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with TestClient(make_app(service), raise_server_exceptions=False) as client:
        lines = [x for x in client.post("/v1/chat/completions", json=body).text.splitlines() if x.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    payloads = [json.loads(x[6:]) for x in lines[:-1]]
    assert any(p.get("error", {}).get("code") == "internal_error" for p in payloads)
    assert payloads[-1]["choices"][0]["finish_reason"] == "error"
