"""`geovigie mcp --transport http` on loopback: the SDK's client with API keys, rate limits, tools and progress."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import numpy as np
import pytest
import rasterio
from affine import Affine
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import thread_owner
from geovigie.serving.api.security import create_key
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import upsert_item

LAKE = "lake-2020-06-01"


@dataclass(frozen=True)
class World:
    """A home with one synthetic water scene, and the MCP server serving it on loopback."""

    settings: Settings
    ctx: ToolContext
    url: str


def _lake(folder: Path, ctx: ToolContext) -> None:
    rng = np.random.default_rng(1)
    green, nir, swir = (np.full((96, 96), v, np.uint16) for v in (800, 3000, 2500))
    green[:, :30], nir[:, :30], swir[:, :30] = 1200, 300, 150
    data = np.stack([green, nir, swir]) + rng.integers(0, 40, (3, 96, 96)).astype(np.uint16)
    path = folder / "lake.tif"
    profile = {"driver": "GTiff", "width": 96, "height": 96, "count": 3, "dtype": "uint16", "crs": "EPSG:32631"}
    with rasterio.open(path, "w", transform=Affine(10, 0, 500_000, 0, -10, 4_800_000), **profile) as dst:
        dst.write(data)
    bands = [{"name": n, "common_name": c} for n, c in (("B03", "green"), ("B08", "nir"), ("B11", "swir16"))]
    item: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": LAKE,
        "collection": "test",
        "geometry": None,
        "bbox": None,
        "properties": {"datetime": "2020-06-01T10:00:00Z", "gsd": 10.0, "geovigie:scale": 0.0001},
        "assets": {"data": {"href": str(path), "roles": ["data"], "eo:bands": bands}},
        "links": [],
    }
    upsert_item(ctx.db, item, source_path=str(path), fingerprint=LAKE)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One MCP server for the module (its start-up dominates), API keys required as off loopback."""
    folder = tmp_path_factory.mktemp("mcp-http")
    settings = Settings(home=folder / "home", stac_api_urls=[], llm_base_url=None, _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    _lake(folder, ctx)
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
    log = folder / "mcp.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT)
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
        yield World(settings=settings, ctx=ctx, url=url)
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


def test_http_needs_a_key_and_serves_tools_ask_and_progress(world):
    server, ctx, lake = world.url, world.ctx, LAKE
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


def test_http_applies_the_keys_rate_limit(world):
    server, ctx = world.url, world.ctx
    _, secret = create_key(ctx.db, name="slow", rate_per_minute=2)
    headers = {"Authorization": f"Bearer {secret}"}
    codes = [httpx.post(server, json={}, headers=headers).status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429
    limited = httpx.post(server, json={}, headers={"X-API-Key": secret})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_allowed_hosts_guard_the_mcp_endpoint_against_dns_rebinding(settings, ctx):
    from starlette.testclient import TestClient

    from geovigie.serving.api.app import build_service
    from geovigie.serving.mcp import mcp_http_app

    guarded = settings.model_copy(update={"api_allowed_hosts": ["geo.example"], "api_require_keys": False})
    app = mcp_http_app(build_service(guarded), settings=guarded, host="0.0.0.0")
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"accept": "application/json, text/event-stream"}
    with TestClient(app, base_url="http://geo.example") as client:
        assert client.post("/mcp", json=init, headers=headers).status_code == 200
        evil = client.post("/mcp", json=init, headers={**headers, "host": "evil.example"})
    assert evil.status_code == 421  # the SDK refuses a Host outside the list (without the list it answers 200)
