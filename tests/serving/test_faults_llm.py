"""Faults of the model endpoint: down, slow, garbage JSON, malformed or unknown tool calls — reported, never a crash."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from geovigie.agent.checkpoint import sqlite_checkpointer
from geovigie.agent.runner import build_agent
from geovigie.core.db.models import ToolRun
from geovigie.core.db.store import Database
from geovigie.serving.api.recorder import thread_record
from geovigie.serving.api.service import TurnService


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
