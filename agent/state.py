"""Graph state: the message list plus the structured record of each tool step."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages


class StepRecord(TypedDict, total=False):
    """One executed tool call, as seen by planners, answer composer, API and UI."""

    call_id: str
    tool: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    error_type: str | None
    """Class name of the typed error (ToolInputError, NoDataError...) when the call failed."""
    summary: str
    output: dict[str, Any] | None
    """``ToolOutput.model_dump(mode="json")``: result payload, provenance, figures, artifacts, notes."""
    duration_s: float
    turn: int


class AgentState(TypedDict, total=False):
    """State of one thread (checkpointed)."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: Annotated[list[StepRecord], operator.add]
    """Every tool step of the thread, across turns (``turn`` tells them apart)."""
    turn: int
    """Index of the current turn (incremented for each user question)."""
    turn_started: float
    """Wall-clock start of the current turn (time budget)."""
    model_calls: int
    """Planner calls in the current turn."""
    invalid_calls: int
    """Consecutive invalid tool calls in the current turn (bounded retries)."""
    stop_reason: str | None
    """Why the turn ended early (step limit, time budget, retries exhausted), if it did."""
    answer: dict[str, Any] | None
    """The structured answer of the latest turn (``Answer.model_dump``)."""
