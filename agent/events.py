"""Typed events streamed while the agent works (consumed by the CLI, the HTTP API and the UI)."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.config import get_stream_writer
from pydantic import BaseModel, Field


class PlanEvent(BaseModel):
    """The planner decided the next tool calls."""

    type: Literal["plan"] = "plan"
    text: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class ToolStarted(BaseModel):
    """A tool call started."""

    type: Literal["tool_started"] = "tool_started"
    call_id: str
    tool: str
    args: dict[str, Any]


class ToolProgress(BaseModel):
    """Progress of a long tool call."""

    type: Literal["tool_progress"] = "tool_progress"
    call_id: str
    tool: str
    fraction: float
    message: str


class ToolFinished(BaseModel):
    """A tool call finished (ok or with an error the planner sees)."""

    type: Literal["tool_finished"] = "tool_finished"
    call_id: str
    tool: str
    ok: bool
    summary: str
    duration_s: float
    artifacts: list[dict[str, Any]] = Field(default_factory=list)


class AnswerText(BaseModel):
    """The answer text (sent once the answer is composed)."""

    type: Literal["answer"] = "answer"
    text: str


class FinalEvent(BaseModel):
    """The complete structured answer; always the last event of a turn."""

    type: Literal["final"] = "final"
    answer: dict[str, Any]


AgentEvent = PlanEvent | ToolStarted | ToolProgress | ToolFinished | AnswerText | FinalEvent


def emit(event: BaseModel) -> None:
    """Send one event to the stream of the running graph (a no-op outside a streaming run)."""
    try:
        get_stream_writer()(event.model_dump())
    except RuntimeError:  # outside a streaming run (plain invoke): nothing to emit
        pass
