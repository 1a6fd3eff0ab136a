"""MCP tool results: a tool's output or a whole answer as text, structured content and artifact links."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types

from geovigie.agent.answer import Answer
from geovigie.core.domain import ToolOutput
from geovigie.core.errors import GeoVigieError

ARTIFACT_URI = "geovigie://artifacts/{id}"
"""URI of an artifact file (ids are content hashes plus extension)."""


def dumps(value: Any) -> str:
    """JSON text for contents (non-ASCII kept: place names are French, Spanish...)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def artifact_link(art: dict[str, Any]) -> types.ResourceLink:
    """A resource link to an artifact, readable with ``resources/read``."""
    return types.ResourceLink(
        name=str(art["id"]),
        title=str(art.get("title") or art["id"]),
        uri=ARTIFACT_URI.format(id=art["id"]),
        mime_type=str(art.get("media_type") or "application/octet-stream"),
        description=f"{art.get('role', 'evidence')} ({art.get('kind', 'file')})",
    )


def _figure_line(name: str, value: float, unit: str, uncertainty: str | None) -> str:
    extra = f" (±{uncertainty})" if uncertainty else ""
    return f"- {name} = {value:g} {unit}{extra}"


def tool_result(output: ToolOutput[Any]) -> types.CallToolResult:
    """A tool's output: summary, figures, method and notes as text; the full output as structured content."""
    lines = [output.summary]
    lines += [_figure_line(f.name, f.value, f.unit, f.uncertainty) for f in output.figures]
    prov = output.provenance
    scenes = ", ".join(f"{s.item_id} ({(s.datetime or 'date ?')[:10]})" for s in prov.scenes)
    lines.append(f"method: {prov.method}" + (f"; scenes: {scenes}" if scenes else ""))
    lines += [f"note: {n}" for n in output.notes]
    dumped = output.model_dump(mode="json")
    content: list[types.ContentBlock] = [types.TextContent(type="text", text="\n".join(lines))]
    content += [artifact_link(a) for a in dumped["artifacts"]]
    return types.CallToolResult(content=content, structured_content=dumped)


def answer_result(answer: Answer) -> types.CallToolResult:
    """A whole answer: its text (short answer, evidence block) and thread id; the answer as structured content."""
    dumped = answer.model_dump(mode="json")
    text = f"{answer.text}\n\n(thread_id: {answer.thread_id}; status: {answer.status})"
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=text)]
    content += [artifact_link(a) for a in dumped["artifacts"]]
    return types.CallToolResult(content=content, structured_content=dumped, is_error=answer.status == "error")


def error_result(exc: GeoVigieError | None, *, tool: str = "") -> types.CallToolResult:
    """A tool error the caller can read and act on (never a traceback)."""
    if exc is None:
        text = f"Internal error in {tool}; it has been logged on the server."
        error = {"message": text, "type": "InternalError", "code": "internal_error"}
    else:
        error = exc.to_dict()
        text = f"{type(exc).__name__}: {exc.message}" + (f"\nWhat to do: {exc.hint}" if exc.hint else "")
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content={"error": error}, is_error=True
    )
