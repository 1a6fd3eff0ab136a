"""map_from_examples over MCP (stdio, the real server in a subprocess): the tool with examples, and ``ask`` with them.

On the Sen1Floods11 sample (skipped without it); a small box keeps Presto to a few seconds.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from geovigie.tools.catalog.ingest import ingest_paths
from geovigie.tools.registry import TOOLS

S2 = "sen1floods11-Spain_7370579_S2Hand"
BOX = [-0.7795, 38.0995, -0.7755, 38.1035]
POINTS = [
    {"label": "water", "point": [-0.77772, 38.10074]}, {"label": "water", "point": [-0.7771, 38.1004]},
    {"label": "land", "point": [-0.77574, 38.10251]}, {"label": "land", "point": [-0.7760, 38.1030]},
]  # fmt: skip


def test_stdio_runs_map_from_examples_and_ask_with_examples(settings, ctx, data_dir, tmp_path):
    ingest_paths([data_dir / "sen1floods11_sample"], ctx.db)
    env = {"GEOVIGIE_HOME": str(settings.home), "GEOVIGIE_STAC_API_URLS": "", "GEOVIGIE_LLM_BASE_URL": "",
           "GEOVIGIE_DATA_DIR": str(data_dir.resolve()), "GEOVIGIE_MODELS_DIR": str(settings.models_dir.resolve()),
           "PATH": os.environ.get("PATH", "")}  # fmt: skip
    params = StdioServerParameters(command=sys.executable, args=["-m", "geovigie.serving.cli", "mcp"], env=env,
                                   cwd=tmp_path)  # fmt: skip
    args = {"item_id": S2, "examples": POINTS, "bbox": BOX}

    async def session() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            tool = await client.call_tool("map_from_examples", args)
            one = await client.call_tool("map_from_examples", {**args, "examples": POINTS[:1]})
            answer = await client.call_tool(
                "ask", {"question": f"map water vs land from my points in bbox {BOX}", "examples": POINTS}
            )
            return locals()

    got = anyio.run(session)
    assert not got["tool"].is_error, got["tool"].content[0].text
    direct = TOOLS["map_from_examples"].run(args, ctx)
    assert [f["value"] for f in got["tool"].structured_content["figures"]] == [f.value for f in direct.figures]
    assert got["one"].is_error and "examples" in got["one"].content[0].text  # at least two: named, no traceback
    answer = got["answer"].structured_content
    assert answer["status"] == "answered", answer["text"]
    step = next(s for s in answer["trace"] if s["tool"] == "map_from_examples")
    assert step["args"]["examples"] == POINTS
