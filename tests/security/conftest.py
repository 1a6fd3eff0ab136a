"""Fixtures of the security suite: a scripted agent service and a real uvicorn server on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import uvicorn
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from geovigie.agent.runner import build_agent
from geovigie.serving.api.app import create_app
from geovigie.serving.api.service import TurnService


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port in a thread; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        runner.join(timeout=10)


def scripted_planner(
    item_id: str | None = None, *, delay_s: float = 0.0, text: str = "done"
) -> RunnableLambda[list[Any], AIMessage]:
    """Calls quicklook on ``item_id`` once (when given), sleeps ``delay_s``, then answers ``text``."""

    def plan(messages: list[Any]) -> AIMessage:
        if item_id and not isinstance(messages[-1], ToolMessage):
            call = {"name": "quicklook", "args": {"item_id": item_id}, "id": "q", "type": "tool_call"}
            return AIMessage(content="", tool_calls=[call])
        time.sleep(delay_s)
        return AIMessage(content=text)

    return RunnableLambda(plan)


@pytest.fixture
def scene(ctx, make_geotiff, register) -> str:
    """A small registered 3-band scene."""
    data = np.random.default_rng(5).integers(100, 3000, size=(3, 24, 24), dtype=np.uint16)
    path = make_geotiff(data, name="sec.tif")
    return str(register(ctx, path, item_id="sec-scene", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")]))


@pytest.fixture
def make_service(settings, ctx) -> Callable[..., TurnService]:
    """Build a turn service on a scripted planner: ``make_service(item_id=None, delay_s=0, **service_kwargs)``."""

    def make(item_id: str | None = None, *, delay_s: float = 0.0, text: str = "done", **kw: Any) -> TurnService:
        agent = build_agent(
            settings=settings,
            ctx=ctx,
            model=scripted_planner(item_id, delay_s=delay_s, text=text),
            planner_name="scripted",
        )
        return TurnService(settings=settings, ctx=ctx, agent=agent, **kw)

    return make


@pytest.fixture
def make_app(settings) -> Callable[..., Any]:
    """``make_app(service, mount_ui=False)`` on the test settings."""

    def make(service: TurnService, *, mount_ui: bool = False) -> Any:
        return create_app(settings, service=service, mount_ui=mount_ui)

    return make


@pytest.fixture
def serve() -> Callable[[Any], Any]:
    """The :func:`live_server` context manager (conftest helpers are not importable in importlib mode)."""
    return live_server
