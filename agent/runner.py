"""Run turns of the agent: one object that the CLI, the HTTP API, the UI and the evals share."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from geovigie.agent.answer import Answer
from geovigie.agent.checkpoint import make_checkpointer, sqlite_checkpointer
from geovigie.agent.graph import AgentLimits, PlannerModel, build_graph
from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import GeoTool, ToolContext

MAX_QUESTION_CHARS = 4000


def validate_question(question: str) -> str:
    """Reject empty or oversized questions with an actionable message.

    Raises:
        ToolInputError: the question is empty or too long.
    """
    # Lone surrogates (a broken paste in the UI, undecodable CLI arguments) cannot be encoded as UTF-8: every
    # later JSON or database write would fail the whole turn. They become U+FFFD.
    text = (question or "").encode("utf-8", "surrogatepass").decode("utf-8", "replace").strip()
    text = text.replace("\x00", "")
    if not text:
        raise ToolInputError(
            "The question is empty.",
            hint="Ask about a place and a risk, e.g. 'Flood extent near Orihuela in September 2019?'",
        )
    if len(text) > MAX_QUESTION_CHARS:
        raise ToolInputError(
            f"The question is {len(text)} characters long (limit {MAX_QUESTION_CHARS}).", hint="Ask a shorter question."
        )
    return text


def human_with_examples(text: str, examples: Sequence[Mapping[str, Any]], *, offline: bool) -> HumanMessage:
    """The human message of a turn that carries labelled examples.

    The offline planner reads them from ``additional_kwargs["geovigie"]["examples"]``; an LLM sees only the text,
    so for it they are also written after the question, as the ``examples`` argument of ``map_from_examples``.
    """
    plain = [dict(e) for e in examples]
    content = text
    if not offline:
        content += "\n\nLabelled examples picked on the map (map_from_examples `examples`): " + json.dumps(plain)
    return HumanMessage(content, additional_kwargs={"geovigie": {"examples": plain}})


@dataclass
class Agent:
    """A compiled graph plus the name of its planner."""

    graph: CompiledStateGraph[Any, None, Any, Any]
    planner: str

    def _config(self, thread_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": thread_id}, "recursion_limit": 100}

    def stream(
        self, question: str, *, thread_id: str | None = None, examples: Sequence[Mapping[str, Any]] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Run one turn, yielding typed events (plan, tool_started, tool_progress, tool_finished, answer, final).

        Args:
            question: The user's question.
            thread_id: The conversation (a new one when None).
            examples: Labelled places picked on the map or sent over the API (``LabelledPlace`` mappings), for
                ``map_from_examples``: they ride on the human message, where the offline planner reads them.

        Raises:
            ToolInputError: the question is empty or too long (before anything runs).
        """
        text = validate_question(question)
        tid = thread_id or uuid.uuid4().hex
        message = HumanMessage(text)
        if examples:
            message = human_with_examples(text, examples, offline=self.planner == "offline")
        for chunk in self.graph.stream({"messages": [message]}, self._config(tid), stream_mode="custom"):
            if isinstance(chunk, dict):
                yield chunk

    def ask(
        self, question: str, *, thread_id: str | None = None, examples: Sequence[Mapping[str, Any]] | None = None
    ) -> Answer:
        """Run one turn and return the structured answer (``examples``: see :meth:`stream`)."""
        final: dict[str, Any] | None = None
        for event in self.stream(question, thread_id=thread_id, examples=examples):
            if event.get("type") == "final":
                final = event["answer"]
        assert final is not None, "the graph always ends with finalize"
        return Answer.model_validate(final)

    def history(self, thread_id: str) -> list[dict[str, Any]]:
        """The answers of a thread, oldest first (from the checkpoints)."""
        answers: list[dict[str, Any]] = []
        seen: set[int] = set()
        for snapshot in self.graph.get_state_history(self._config(thread_id)):
            answer, turn = snapshot.values.get("answer"), int(snapshot.values.get("turn", 0))
            if answer and turn not in seen:
                seen.add(turn)
                answers.append(answer)
        return list(reversed(answers))


def build_agent(
    *,
    settings: Settings,
    ctx: ToolContext,
    tools: Mapping[str, GeoTool[Any]] | None = None,
    model: PlannerModel | None = None,
    planner_name: str | None = None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> Agent:
    """Build the agent with the planner the settings call for (LLM endpoint, else the offline planner)."""
    from geovigie.tools.registry import TOOLS

    registry = dict(tools if tools is not None else TOOLS)
    if model is None:
        if settings.llm_base_url:
            from geovigie.agent.llm import llm_planner
            from geovigie.agent.offline import make_run_playbook

            # The LLM gets the playbooks as one extra tool (two round trips for covered questions).
            registry["run_playbook"] = make_run_playbook(dict(registry))
            model, planner_name = llm_planner(settings, registry), f"llm:{settings.llm_model}"
        else:
            from geovigie.agent.offline import OfflinePlanner

            model, planner_name = OfflinePlanner(ctx=ctx), "offline"
    limits = AgentLimits(max_steps=settings.agent_max_steps, time_budget_s=settings.agent_time_budget_s)
    graph = build_graph(model=model, tools=registry, ctx=ctx, checkpointer=checkpointer, limits=limits)
    return Agent(graph=graph, planner=planner_name or "custom")


__all__ = ["Agent", "build_agent", "make_checkpointer", "sqlite_checkpointer", "validate_question"]
