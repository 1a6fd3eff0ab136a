"""The LangGraph agent: plan -> tools -> plan ... -> finalize. Model, tools and context are passed in.

The same graph runs the LLM planner (any OpenAI-compatible chat model with tool calling) and the offline
planner (a deterministic chat model, see :mod:`geovigie.agent.offline.model`): both emit ``AIMessage.tool_calls``.
Only registered tools can run; arguments are validated against the tools' pydantic schemas and invalid
calls go back to the planner as error messages (bounded retries). A step limit and a time budget stop
runaway plans.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from geovigie.agent.catalog_context import catalog_summary
from geovigie.agent.events import PlanEvent, ToolFinished, ToolProgress, ToolStarted, emit
from geovigie.agent.finalize import finalize_node
from geovigie.agent.prompts import SYSTEM_PROMPT
from geovigie.agent.state import AgentState, StepRecord
from geovigie.core.errors import GeoVigieError, ToolInputError, UpstreamError
from geovigie.tools.base import GeoTool, ToolContext

logger = logging.getLogger(__name__)

PlannerModel = Runnable[list[AnyMessage], AIMessage]


@dataclasses.dataclass(frozen=True)
class AgentLimits:
    """Bounds of one turn."""

    max_steps: int = 12
    """Most planner calls in one turn."""
    time_budget_s: float = 300.0
    """Wall-clock budget of one turn."""
    max_invalid_calls: int = 2
    """Invalid tool calls tolerated (each goes back to the model) before the turn stops."""


def _current_question(messages: list[AnyMessage]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, HumanMessage):
            return str(msg.content)
    return ""


class _Nodes:
    def __init__(self, model: PlannerModel, tools: Mapping[str, GeoTool[Any]], ctx: ToolContext, limits: AgentLimits):
        self.model = model
        self.tools = tools
        self.ctx = ctx
        self.limits = limits

    def start_turn(self, state: AgentState) -> dict[str, Any]:
        return {
            "turn": state.get("turn", 0) + 1,
            "turn_started": time.time(),
            "model_calls": 0,
            "invalid_calls": 0,
            "stop_reason": None,
            "answer": None,
        }

    def plan(self, state: AgentState) -> dict[str, Any]:
        if state.get("model_calls", 0) >= self.limits.max_steps:
            return {"stop_reason": f"step limit ({self.limits.max_steps} planner calls) reached"}
        if time.time() - state.get("turn_started", time.time()) > self.limits.time_budget_s:
            return {"stop_reason": f"time budget ({self.limits.time_budget_s:.0f} s) exhausted"}
        prompt = SYSTEM_PROMPT.format(today=datetime.now(UTC).date().isoformat())
        if catalog := catalog_summary(self.ctx):  # the model resolves "the 2009 NAIP tile" against real ids
            prompt += "\n\n" + catalog
        system = SystemMessage(prompt)
        try:
            reply = self.model.invoke([system, *state["messages"]])
        except GeoVigieError as exc:
            return {"stop_reason": exc.user_message, "model_calls": state.get("model_calls", 0) + 1}
        except Exception as exc:  # the endpoint is outside our control: report, never crash the thread
            logger.warning("planner call failed: %s", exc)
            err = UpstreamError(f"The model endpoint failed: {type(exc).__name__}: {exc}.", hint="Retry later.")
            return {"stop_reason": err.user_message, "model_calls": state.get("model_calls", 0) + 1}
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=str(getattr(reply, "content", reply)))
        emit(PlanEvent(text=str(reply.content or ""), tool_calls=[dict(c) for c in reply.tool_calls]))
        return {"messages": [reply], "model_calls": state.get("model_calls", 0) + 1}

    def run_tools(self, state: AgentState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        messages: list[ToolMessage] = []
        steps: list[StepRecord] = []
        invalid = state.get("invalid_calls", 0)
        for call in last.tool_calls:
            message, step = self._run_one(call, state.get("turn", 1))
            messages.append(message)
            steps.append(step)
            if step.get("error_type") in ("ToolInputError", "UnknownTool", "AmbiguousPlaceError"):
                invalid += 1
        for bad in last.invalid_tool_calls:
            # Unparseable arguments: answered like any invalid call, or the next request carries a tool call
            # without its tool message, which OpenAI-compatible servers refuse (the thread would stay broken).
            message, step = self._refuse_unparsed(bad, state.get("turn", 1))
            messages.append(message)
            steps.append(step)
            invalid += 1
        update: dict[str, Any] = {"messages": messages, "steps": steps, "invalid_calls": invalid}
        if invalid > self.limits.max_invalid_calls:
            update["stop_reason"] = f"{invalid} invalid tool calls: stopped retrying"
        return update

    def _run_one(self, call: Mapping[str, Any], turn: int) -> tuple[ToolMessage, StepRecord]:
        name, args = str(call["name"]), dict(call.get("args") or {})
        call_id = str(call.get("id") or name)
        step = StepRecord(call_id=call_id, tool=name, args=args, ok=False, error=None, turn=turn, output=None)
        emit(ToolStarted(call_id=call_id, tool=name, args=args))
        started = time.perf_counter()
        tool = self.tools.get(name)
        if tool is None:
            step["error"] = f"Unknown tool {name!r}. Available tools: {', '.join(self.tools)}."
            step["error_type"] = "UnknownTool"
        else:
            self._execute(tool, args, call_id, step)
        step["duration_s"] = round(time.perf_counter() - started, 3)
        summary = step.get("summary") or f"Error: {step.get('error')}"
        step["summary"] = summary
        emit(
            ToolFinished(
                call_id=call_id,
                tool=name,
                ok=bool(step["ok"]),
                summary=summary,
                duration_s=step["duration_s"],
                artifacts=(step.get("output") or {}).get("artifacts", []),
            )
        )
        content = summary if step["ok"] else f"Error ({step.get('error_type')}): {step.get('error')}"
        status: Literal["success", "error"] = "success" if step["ok"] else "error"
        message = ToolMessage(content=content, tool_call_id=call_id, name=name, artifact=dict(step), status=status)
        return message, step

    def _refuse_unparsed(self, bad: Mapping[str, Any], turn: int) -> tuple[ToolMessage, StepRecord]:
        name, call_id = str(bad.get("name") or "unknown"), str(bad.get("id") or bad.get("name") or "invalid")
        error = (
            f"The arguments of {name} are not valid JSON ({bad.get('error') or 'unparseable'}). "
            "Send one JSON object matching the tool's schema."
        )
        step = StepRecord(
            call_id=call_id,
            tool=name,
            args={},
            ok=False,
            error=error,
            turn=turn,
            output=None,
            summary=f"Error: {error}",
        )
        step["error_type"], step["duration_s"] = "ToolInputError", 0.0
        emit(ToolStarted(call_id=call_id, tool=name, args={}))
        emit(ToolFinished(call_id=call_id, tool=name, ok=False, summary=step["summary"], duration_s=0.0, artifacts=[]))
        message = ToolMessage(
            content=f"Error (ToolInputError): {error}",
            tool_call_id=call_id,
            name=name,
            artifact=dict(step),
            status="error",
        )
        return message, step

    def _execute(self, tool: GeoTool[Any], args: dict[str, Any], call_id: str, step: StepRecord) -> None:
        def progress(fraction: float, message: str) -> None:
            emit(ToolProgress(call_id=call_id, tool=tool.name, fraction=fraction, message=message))

        ctx = dataclasses.replace(self.ctx, progress=progress)
        for attempt in (1, 2):
            try:
                output = tool.run(args, ctx)
            except UpstreamError as exc:
                if attempt == 1:
                    continue
                step["error"], step["error_type"] = exc.user_message, type(exc).__name__
            except GeoVigieError as exc:
                step["error"], step["error_type"] = exc.user_message, type(exc).__name__
            except Exception as exc:  # a bug in a tool must not kill the thread; the planner sees it
                logger.exception("tool %s crashed", tool.name)
                step["error"], step["error_type"] = (
                    f"internal error in {tool.name}: {type(exc).__name__}",
                    "InternalError",
                )
            else:
                step["ok"], step["summary"] = True, output.for_model()
                step["output"] = output.model_dump(mode="json")
            return

    def route_after_plan(self, state: AgentState) -> Literal["tools", "finalize"]:
        last = state["messages"][-1] if state.get("messages") else None
        calls = (last.tool_calls or last.invalid_tool_calls) if isinstance(last, AIMessage) else None
        if state.get("stop_reason") or not calls:
            return "finalize"
        return "tools"

    def route_after_tools(self, state: AgentState) -> Literal["plan", "finalize"]:
        return "finalize" if state.get("stop_reason") else "plan"


def build_graph(
    *,
    model: PlannerModel,
    tools: Mapping[str, GeoTool[Any]],
    ctx: ToolContext,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    limits: AgentLimits | None = None,
    finalize: Any = None,
) -> CompiledStateGraph[AgentState, None, AgentState, AgentState]:
    """Wire the agent graph.

    Args:
        model: The planner: a chat model (bound to the tools) or the offline planner model.
        tools: The registry of tools it may call (nothing else can run).
        ctx: Tool dependencies (settings, database, artifact store).
        checkpointer: Thread persistence (e.g. SqliteSaver); None keeps state in memory only.
        limits: Step limit, time budget and invalid-call retries.
        finalize: Node composing the structured answer (defaults to :func:`geovigie.agent.finalize.finalize_node`).
    """
    nodes = _Nodes(model, tools, ctx, limits or AgentLimits())
    graph = StateGraph(AgentState)
    graph.add_node("start_turn", nodes.start_turn)
    graph.add_node("plan", nodes.plan)
    graph.add_node("tools", nodes.run_tools)
    graph.add_node("finalize", finalize or finalize_node)
    graph.add_edge(START, "start_turn")
    graph.add_edge("start_turn", "plan")
    graph.add_conditional_edges("plan", nodes.route_after_plan, ["tools", "finalize"])
    graph.add_conditional_edges("tools", nodes.route_after_tools, ["plan", "finalize"])
    graph.add_edge("finalize", END)
    return graph.compile(checkpointer=checkpointer)


__all__ = ["AgentLimits", "PlannerModel", "ToolInputError", "build_graph", "_current_question"]
