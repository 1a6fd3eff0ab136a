"""`geovigie mcp --transport http` on loopback: the SDK's client with API keys, rate limits, tools and progress."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import numpy as np
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import thread_owner
from geovigie.serving.api.security import create_key
from geovigie.tools.base import ToolContext

LAKE = "lake-2020-06-01"


@pytest.fixture
def lake(ctx: ToolContext, make_geotiff: Any, register: Any) -> str:
    rng = np.random.default_rng(1)
    green, nir, swir = (np.full((96, 96), v, np.uint16) for v in (800, 3000, 2500))
    green[:, :30], nir[:, :30], swir[:, :30] = 1200, 300, 150
    data = np.stack([green, nir, swir]) + rng.integers(0, 40, (3, 96, 96)).astype(np.uint16)
    path = make_geotiff(data, name="lake.tif")
    bands = [("B03", "green"), ("B08", "nir"), ("B11", "swir16")]
    return str(register(ctx, path, item_id=LAKE, bands=bands, scale=0.0001))


@pytest.fixture
def server(settings: Settings, ctx: ToolContext, lake: str, tmp_path: Path) -> Iterator[str]:
    """The MCP server on a free loopback port, API keys required (as a non-loopback deployment would)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "GEOVIGIE_HOME": str(settings.home),
        "GEOVIGIE_STAC_API_URLS": "",
        "GEOVIGIE_LLM_BASE_URL": "",
        "GEOVIGIE_API_REQUIRE_KEYS": "true",
        "PATH": os.environ.get("PATH", ""),
    }
    cmd = [sys.executable, "-m", "geovigie.serving.cli", "mcp", "--transport", "http", "--port", str(port)]
    log = tmp_path / "mcp.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"MCP server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    pytest.fail(f"MCP server not up after 60 s:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _client(url: str, secret: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=httpx2.Timeout(30, read=120))
    return Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120)


def test_http_needs_a_key_and_serves_tools_ask_and_progress(server, ctx, lake):
    refused = httpx.post(server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401 and "API key is required" in refused.json()["error"]["message"]
    wrong = httpx.post(server, json={}, headers={"Authorization": "Bearer gv_not-a-key"})
    assert wrong.status_code == 401 and "Invalid" in wrong.json()["error"]["message"]
    key_id, secret = create_key(ctx.db, name="mcp-test", rate_per_minute=600)
    _, other = create_key(ctx.db, name="someone else", rate_per_minute=600)
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async def session() -> dict[str, Any]:
        async with _client(server, secret) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            bad = await client.call_tool("detect_change", {"before_item_id": lake})
            seg = await client.call_tool("segment", {"target": "water", "item_id": lake}, progress_callback=on_progress)
            answer = await client.call_tool("ask", {"question": f"Water area in {lake}?"})
            thread = answer.structured_content["thread_id"]
            arts = await client.read_resource(f"geovigie://threads/{thread}/artifacts")
            listed = [str(r.uri) for r in (await client.list_resources()).resources]
            seg_link = next(c for c in seg.content if c.type == "resource_link")
            seg_file = await client.read_resource(seg_link.uri)  # made by a direct tool call: readable too
            try:
                await client.read_resource("geovigie://artifacts/not-an-artifact.png")
                stray = None
            except MCPError as exc:
                stray = exc
        async with _client(server, other) as client:
            try:
                await client.read_resource(f"geovigie://threads/{thread}/artifacts")
                foreign = None
            except MCPError as exc:
                foreign = exc
            theirs = [str(r.uri) for r in (await client.list_resources()).resources]
        return locals()

    got = anyio.run(session)
    assert {"segment", "detect_change", "ask"} <= got["names"]
    assert got["bad"].is_error and "after_item_id" in got["bad"].content[0].text
    assert not got["seg"].is_error and len(seen) >= 2 and seen == sorted(seen)
    answer = got["answer"].structured_content
    assert answer["status"] == "answered"
    seg_area = next(f["value"] for f in got["seg"].structured_content["figures"] if f["name"] == "water area")
    assert next(f["value"] for f in answer["figures"] if f["name"] == "water area") == pytest.approx(seg_area)
    assert f"geovigie://threads/{got['thread']}/artifacts" in got["listed"]
    assert answer["artifacts"] and answer["artifacts"][0]["id"] in got["arts"].contents[0].text
    assert got["seg_file"].contents and got["stray"] is not None and "No resource" in str(got["stray"])
    assert thread_owner(ctx.db, got["thread"]) == key_id  # the thread belongs to the calling key
    assert got["foreign"] is not None and f"geovigie://threads/{got['thread']}/artifacts" not in got["theirs"]


def test_http_applies_the_keys_rate_limit(server, ctx):
    _, secret = create_key(ctx.db, name="slow", rate_per_minute=2)
    headers = {"Authorization": f"Bearer {secret}"}
    codes = [httpx.post(server, json={}, headers=headers).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429
    limited = httpx.post(server, json={}, headers={"X-API-Key": secret})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
