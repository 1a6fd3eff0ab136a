"""`geovigie mcp` over stdio, driven by the official SDK's client against the real server in a subprocess."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.registry import TOOLS

LAKE = "lake-2020-06-01"


def lake_scene(ctx: ToolContext, make_geotiff: Any, register: Any) -> str:
    """A 96x96 Sentinel-2-like scene (green, nir, swir16) whose left 40 columns are open water."""
    rng = np.random.default_rng(0)
    green, nir, swir = (np.full((96, 96), v, np.uint16) for v in (800, 3000, 2500))
    green[:, :40], nir[:, :40], swir[:, :40] = 1200, 300, 150
    data = np.stack([green, nir, swir]) + rng.integers(0, 40, (3, 96, 96)).astype(np.uint16)
    path = make_geotiff(data, name="lake.tif")
    bands = [("B03", "green"), ("B08", "nir"), ("B11", "swir16")]
    return str(register(ctx, path, item_id=LAKE, bands=bands, scale=0.0001))


def server_env(settings: Settings) -> dict[str, str]:
    """Environment of a server process on the test's home, offline planner, no remote STAC API."""
    return {
        "GEOVIGIE_HOME": str(settings.home),
        "GEOVIGIE_STAC_API_URLS": "",
        "GEOVIGIE_LLM_BASE_URL": "",
        "PATH": os.environ.get("PATH", ""),
    }


@pytest.fixture
def lake(ctx: ToolContext, make_geotiff: Any, register: Any) -> str:
    return lake_scene(ctx, make_geotiff, register)


def _run(coro: Any) -> Any:
    return anyio.run(coro)


def test_stdio_lists_every_tool_with_its_schema_and_runs_tools_ask_and_resources(settings, ctx, lake, tmp_path):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "geovigie.serving.cli", "mcp"], env=server_env(settings), cwd=tmp_path
    )
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    asked: list[tuple[float, str | None]] = []

    async def on_ask_progress(progress: float, total: float | None, message: str | None) -> None:
        asked.append((progress, message))

    async def session() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            bad = await client.call_tool("segment", {"target": "water", "item_id": 3})
            unknown = await client.call_tool("segment", {"target": "water", "item_id": "no-such-scene"})
            good = await client.call_tool(
                "segment", {"target": "water", "item_id": lake}, progress_callback=on_progress
            )
            catalog = await client.read_resource("geovigie://catalog")
            answer = await client.call_tool(
                "ask", {"question": f"What is the water area in {lake}?"}, progress_callback=on_ask_progress
            )
            thread = answer.structured_content["thread_id"]
            arts = await client.read_resource(f"geovigie://threads/{thread}/artifacts")
            links = [c for c in answer.content if c.type == "resource_link"]
            png = next(link for link in links if link.mime_type == "image/png")
            blob = await client.read_resource(png.uri)
            return locals()

    got = _run(session)
    listed = got["listed"]
    assert set(listed) == {*TOOLS, "ask"}
    for name, tool in TOOLS.items():
        assert listed[name].input_schema == tool.json_schema() and listed[name].description == tool.description
    assert "question" in listed["ask"].input_schema["required"]

    assert got["bad"].is_error and "item_id" in got["bad"].content[0].text  # names the field, no traceback
    assert "Traceback" not in got["bad"].content[0].text
    assert got["unknown"].is_error and "no-such-scene" in got["unknown"].content[0].text

    good = got["good"]
    direct = TOOLS["segment"].run({"target": "water", "item_id": lake}, ctx)
    assert not good.is_error
    assert [f["value"] for f in good.structured_content["figures"]] == [f.value for f in direct.figures]
    values = [p[0] for p in seen]
    assert len(values) >= 2 and values == sorted(values) and len(set(values)) == len(values)
    assert all(p[1] == 1.0 and 0 <= p[0] <= 1 for p in seen)

    assert lake in got["catalog"].contents[0].text
    # ask reports each tool step (started, its own progress, done) as the turn runs
    assert [p for p, _ in asked] == sorted(p for p, _ in asked) and asked[-1] == (1.0, "segment: done")
    answer = got["answer"].structured_content
    assert answer["status"] == "answered" and [s["tool"] for s in answer["trace"]] == ["segment"]
    water = next(f for f in answer["figures"] if f["name"] == "water area")
    assert water["value"] == pytest.approx(direct.result.area_m2, rel=1e-6)
    assert {a["id"] for a in answer["artifacts"]} <= {a.name for a in got["links"]}
    assert got["png"].name in got["arts"].contents[0].text
    assert got["blob"].contents[0].blob  # the PNG itself, base64
    assert Path(settings.home).is_dir()
