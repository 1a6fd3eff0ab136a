"""The MCP server: registry tools and ``ask`` as MCP tools, the catalog and artifacts as resources.

Built on the SDK's low-level ``Server`` rather than ``MCPServer``: GeoVigie's tools already carry their pydantic
input model and prompt, so the tool list is published as is (schema from the model, description from the
docstring) and arguments are validated by the tool itself, which turns a bad argument into a tool error that
names the field, instead of a protocol error.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from pydantic import BaseModel, Field, ValidationError

from geovigie.agent.answer import Answer
from geovigie.core.domain import ToolOutput
from geovigie.core.errors import GeoVigieError, ToolInputError
from geovigie.serving.api.recorder import ANONYMOUS_OWNER
from geovigie.serving.api.service import TurnService
from geovigie.serving.mcp.resources import Reader, resource_list, resource_templates
from geovigie.serving.mcp.results import answer_result, error_result, tool_result
from geovigie.tools.base import GeoTool, format_validation_error
from geovigie.tools.embed import LabelledPlace

logger = logging.getLogger(__name__)

ASK_TOOL = "ask"
"""Name of the whole-question tool (no registry tool may take it)."""
PRINCIPAL_STATE = "geovigie_principal"
"""Key of the caller's :class:`Principal` in an HTTP request's scope state (set by the key gate)."""

ASK_DESCRIPTION = """Ask GeoVigie a whole question (French or English) about a place and a risk: flood extent,
urban growth, forest loss, object counts, what an image shows. The agent finds the imagery, runs the measuring
tools and answers with measured figures, their provenance (scenes, dates, method, CRS, pixel size) and links to
the artifacts (masks, polygons, overlays). Pass `thread_id` to continue a conversation (follow-up questions)."""


class AskInput(BaseModel):
    """Arguments of ``ask``."""

    question: str = Field(description="The question, in French or English (at most 4000 characters).")
    thread_id: str | None = Field(default=None, description="Continue this thread (from an earlier answer).")
    examples: list[LabelledPlace] | None = Field(
        default=None, max_length=200, description="Labelled places (label + point [lon, lat] or box) for a map from "
        "examples; the thread keeps them.",
    )  # fmt: skip


class _ProgressBridge:
    """Sends a tool's ``ctx.progress(fraction, message)`` calls, made in a worker thread, as MCP progress."""

    def __init__(self, ctx: ServerRequestContext[Any]) -> None:
        self._ctx = ctx
        self._last = -1.0

    def __call__(self, value: float, message: str, total: float | None = 1.0) -> None:
        # The protocol wants each notification's progress to increase: a tool that steps back is not resent.
        if value <= self._last:
            return
        self._last = value
        try:
            anyio.from_thread.run(self._ctx.session.report_progress, value, total, message)
        except Exception as exc:  # a client gone mid-call must not fail the tool
            logger.debug("progress notification not sent: %s", exc)

    def tool(self, fraction: float, message: str) -> None:
        """The ``ProgressFn`` handed to a tool: fraction 0..1 of its work."""
        self(min(1.0, max(0.0, float(fraction))), message)


def _tool_list(tools: Mapping[str, GeoTool[Any]]) -> list[types.Tool]:
    listed = [
        types.Tool(name=tool.name, description=tool.description, input_schema=tool.json_schema())
        for tool in tools.values()
    ]
    listed.append(types.Tool(name=ASK_TOOL, description=ASK_DESCRIPTION, input_schema=AskInput.model_json_schema()))
    return listed


def _run_tool(service: TurnService, tool: GeoTool[Any], args: dict[str, Any], bridge: _ProgressBridge) -> Any:
    ctx = dataclasses.replace(service.ctx, progress=bridge.tool)
    output: ToolOutput[Any] = tool.run(args, ctx)
    return output


def owner_of_request(ctx: ServerRequestContext[Any]) -> str:
    """Who calls: the API key's id over HTTP (set by the key gate), the local user (anonymous) on stdio."""
    scope = getattr(ctx.request, "scope", None) or {}
    principal = (scope.get("state") or {}).get(PRINCIPAL_STATE)
    return str(principal.key_id) if principal is not None else ANONYMOUS_OWNER


def _run_ask(service: TurnService, body: AskInput, bridge: _ProgressBridge, owner: str) -> Answer:
    """A whole turn; each tool step reports as progress ``steps done + fraction of the current step``."""
    done, final = 0, None
    examples = [e.model_dump(exclude_none=True) for e in body.examples] if body.examples else None
    for event in service.stream(body.question, thread_id=body.thread_id, owner=owner, examples=examples):
        kind = event.get("type")
        if kind == "tool_started":
            bridge(done + 0.001, f"{event['tool']}: started", None)
        elif kind == "tool_progress":
            bridge(done + min(0.99, max(0.0, float(event["fraction"]))), f"{event['tool']}: {event['message']}", None)
        elif kind == "tool_finished":
            done += 1
            bridge(float(done), f"{event['tool']}: {'done' if event['ok'] else 'failed'}", None)
        elif kind == "final":
            final = event["answer"]
    if final is None:  # the graph always ends with finalize; a missing answer is a bug, reported as such
        raise RuntimeError("the turn ended without an answer")
    return Answer.model_validate(final)


async def _call(
    produced: set[str],
    service: TurnService,
    tools: Mapping[str, GeoTool[Any]],
    ctx: ServerRequestContext[Any],
    name: str,
    args: dict[str, Any],
) -> types.CallToolResult:
    bridge = _ProgressBridge(ctx)
    if name == ASK_TOOL:
        try:
            body = AskInput.model_validate(args)
        except ValidationError as exc:
            raise ToolInputError(
                f"Invalid arguments for ask: {format_validation_error(exc)}.", hint="Send {'question': '...'}."
            ) from exc
        answer = await anyio.to_thread.run_sync(_run_ask, service, body, bridge, owner_of_request(ctx))
        return answer_result(answer)
    tool = tools.get(name)
    if tool is None:
        raise ToolInputError(f"Unknown tool {name!r}.", hint=f"Available tools: {', '.join([*tools, ASK_TOOL])}.")
    output: ToolOutput[Any] = await anyio.to_thread.run_sync(_run_tool, service, tool, args, bridge)
    produced.update(a.id for a in output.artifacts)
    return tool_result(output)


def build_server(service: TurnService, *, tools: Mapping[str, GeoTool[Any]] | None = None) -> Server[Any]:
    """The MCP server over a turn service.

    Args:
        service: The turn service (settings, tool context, agent) that runs tools and turns and records turns.
        tools: The tools to publish; the registry's by default.
    """
    if tools is None:
        from geovigie.tools.registry import TOOLS

        tools = TOOLS
    registry = dict(tools)
    produced: set[str] = set()  # artifacts of direct tool calls: not recorded as a turn's, yet readable here

    async def list_tools(_ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None) -> Any:
        return types.ListToolsResult(tools=_tool_list(registry))

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        try:
            return await _call(produced, service, registry, ctx, params.name, dict(params.arguments or {}))
        except GeoVigieError as exc:  # the caller (often a model) reads this and corrects the call
            logger.info("MCP tool %s refused: %s", params.name, exc.message)
            return error_result(exc)
        except Exception:
            logger.exception("MCP tool %s crashed", params.name)
            return error_result(None, tool=params.name)

    async def list_resources(ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None) -> Any:
        listed = await anyio.to_thread.run_sync(resource_list, service, owner_of_request(ctx))
        return types.ListResourcesResult(resources=listed)

    async def list_templates(_ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None) -> Any:
        return types.ListResourceTemplatesResult(resource_templates=resource_templates())

    async def read(ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> Any:
        reader = Reader(service=service, owner=owner_of_request(ctx), produced=produced)
        contents = await anyio.to_thread.run_sync(reader.read, str(params.uri))
        return types.ReadResourceResult(contents=contents)

    return Server(
        "geovigie",
        version=_version(),
        title="GeoVigie",
        instructions=(
            "Satellite-imagery measurements with provenance. Call `ask` with a whole question, or the tools one by "
            "one (geocode -> search_imagery -> segment / detect_change / count_objects). Resources: the catalog "
            "(geovigie://catalog), a thread's artifacts and the artifact files."
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("geovigie")
    except PackageNotFoundError:
        return "0"


def run_stdio(service: TurnService) -> None:
    """Serve one client over stdin/stdout until it closes (stdout carries the protocol only)."""
    server = build_server(service)

    async def main() -> None:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
