"""The solver: run one case through the agent (every turn of its conversation) and score it.

Each case gets a fresh agent (in-memory checkpoints, one thread per case) on the run's isolated catalog,
with the offline planner's "today" pinned to the case's date, or the LLM planner on ``--endpoint``. Cases
with ``stub_tools`` run against deterministic stub tools (:class:`geovigie.evals.planner_accuracy.StubWorld`) that
keep the real tools' names, schemas and prompts, so the planner is measured alone.

:func:`solve` never raises: a crash of the agent or of a scorer becomes the case's ``error`` outcome.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import random
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel, ConfigDict

from geovigie.agent.answer import Answer
from geovigie.agent.graph import PlannerModel
from geovigie.agent.offline import ItemFacts, OfflinePlanner, ToolCall
from geovigie.agent.runner import Agent, build_agent
from geovigie.core import errors
from geovigie.core.domain import Provenance, ToolOutput
from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings
from geovigie.evals.catalog_facts import facts_for
from geovigie.evals.labels import EvalDataError
from geovigie.evals.planner_accuracy import StubWorld
from geovigie.evals.results import CaseResult, CaseRun, Score, TurnRecord
from geovigie.evals.schema import Case
from geovigie.evals.scorers import score_answer
from geovigie.evals.truth import TruthEnv, score_truth
from geovigie.tools.base import GeoTool, ToolContext

ModelFactory = Callable[[ToolContext, Mapping[str, GeoTool[Any]]], PlannerModel]

PLANNER_TOOLS = ("segment", "ask_image")
"""Tools the offline planner can call that a stub world provides even before they are registered."""


@dataclass(frozen=True)
class RunConfig:
    """What every case of a run shares."""

    planner: Literal["offline", "llm"]
    home: Path
    """Isolated GeoVigie home holding the run's catalog (keyed by data root)."""
    artifacts_dir: Path
    data_root: Path
    timeout_s: float = 300.0
    seed: int = 0
    endpoint: str | None = None
    model: str | None = None
    model_factory: ModelFactory | None = None
    """Tests inject a scripted chat model here (must be importable: workers may be spawned)."""


@dataclass(frozen=True)
class CaseTask:
    """One case to solve, with its suite and run configuration."""

    suite: str
    case: Case
    config: RunConfig


_CONTEXTS: dict[tuple[Path, Path], ToolContext] = {}


def run_settings(config: RunConfig, *, timeout_s: float) -> Settings:
    """Settings of the isolated run: its own home and catalog, no remote STAC, offline geocoder."""
    base = Settings()
    update: dict[str, Any] = {
        "home": config.home,
        "db_url": "",
        "artifacts_dir": config.artifacts_dir,
        "stac_api_urls": [],
        "data_dir": config.data_root,
        "geocoder": "offline",
        # The agent stops itself a little before the hard timeout, so a slow case still returns an answer.
        "agent_time_budget_s": min(base.agent_time_budget_s, 0.9 * timeout_s),
        "llm_base_url": (config.endpoint or base.llm_base_url) if config.planner == "llm" else None,
    }
    if config.model:
        update["llm_model"] = config.model
    return base.model_copy(update=update)


def _context(settings: Settings) -> ToolContext:
    key = (settings.home, settings.resolved_artifacts_dir)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = ToolContext.from_settings(settings)
    return dataclasses.replace(_CONTEXTS[key], settings=settings)


class StubResult(BaseModel):
    """A stub tool's payload: whatever fields the stub world returns."""

    model_config = ConfigDict(extra="allow")


class _EvalPlanner(OfflinePlanner):
    """The offline planner, also knowing the image ids a case declares."""

    extra_items: tuple[str, ...] = ()

    def _known_items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*super()._known_items(), *self.extra_items)))

    def _item_facts(self) -> dict[str, ItemFacts]:
        return {**facts_for(self.extra_items), **super()._item_facts()}


def stub_registry(world: StubWorld) -> dict[str, GeoTool[Any]]:
    """The tool registry with every function replaced by the stub world's (names, schemas, prompts kept)."""
    from geovigie.tools.registry import TOOLS

    registry: dict[str, GeoTool[Any]] = dict(TOOLS)
    for name in PLANNER_TOOLS:
        if name not in registry:
            module = importlib.import_module(f"tools.{name}")
            registry[name] = getattr(module, name)

    def make(name: str) -> Callable[[Any, ToolContext], ToolOutput[Any]]:
        def run(args: Any, _ctx: ToolContext) -> ToolOutput[Any]:
            record = world.run(ToolCall(tool=name, args=args.model_dump(exclude_none=True, mode="json"), reason=""))
            if not record["ok"]:
                error_cls = getattr(errors, str(record["error_type"]), errors.TerminalError)
                raise error_cls(str(record["error"]))
            return ToolOutput[StubResult](
                summary=f"{name} (stub): {str(record['result'])[:300]}",
                result=StubResult.model_validate(record["result"]),
                provenance=Provenance(tool=name, method="evaluation stub"),
            )

        return run

    return {name: dataclasses.replace(tool, func=make(name)) for name, tool in registry.items()}


def build_case_agent(case: Case, config: RunConfig, ctx: ToolContext) -> Agent:
    """A fresh agent for one case: its tools (real or stubbed) and its planner."""
    tools = stub_registry(StubWorld(case.stub_tools)) if case.stub_tools is not None else None
    model: PlannerModel | None = None
    name: str | None = None
    if config.model_factory is not None:
        from geovigie.tools.registry import TOOLS

        model, name = config.model_factory(ctx, tools or TOOLS), "scripted"
    elif config.planner == "offline":
        today = case.today or dt.datetime.now(dt.UTC).date()
        model = _EvalPlanner(ctx=ctx, today=lambda: today, extra_items=tuple(case.known_items))  # type: ignore[call-arg]
        name = "offline"
    return build_agent(settings=ctx.settings, ctx=ctx, tools=tools, model=model, planner_name=name,
                       checkpointer=InMemorySaver())  # fmt: skip


def _tokens(agent: Agent, thread_id: str, skip: int) -> tuple[int, int, int]:
    """(input tokens, output tokens, messages so far) of the thread's LLM replies after the first ``skip``."""
    messages = agent.graph.get_state({"configurable": {"thread_id": thread_id}}).values.get("messages", [])
    tin = tout = 0
    for msg in messages[skip:]:
        usage = getattr(msg, "usage_metadata", None) if isinstance(msg, AIMessage) else None
        if usage:
            tin += int(usage.get("input_tokens", 0))
            tout += int(usage.get("output_tokens", 0))
    return tin, tout, len(messages)


def _refused(question: str, exc: GeoVigieError) -> dict[str, Any]:
    """The answer of a turn refused before it ran (empty or oversized question): status error."""
    return Answer(thread_id="", question=question, language="", status="error", text=exc.user_message).model_dump(
        mode="json"
    )


def run_case(case: Case, config: RunConfig) -> CaseRun:
    """Ask every turn of the case on one thread; an unexpected exception ends the run with its traceback."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    timeout = case.timeout_s or config.timeout_s
    run = CaseRun()
    try:
        ctx = _context(run_settings(config, timeout_s=timeout))
        agent = build_case_agent(case, config, ctx)
        thread_id, seen = f"eval-{case.id}", 0
        for turn in case.turns():
            start = time.perf_counter()
            try:
                answer = agent.ask(turn.question, thread_id=thread_id).model_dump(mode="json")
            except GeoVigieError as exc:
                answer = _refused(turn.question, exc)
            latency = time.perf_counter() - start
            tin, tout, seen = _tokens(agent, thread_id, seen)
            run.turns.append(TurnRecord(question=turn.question, answer=answer, latency_s=round(latency, 3),
                                        tokens_in=tin, tokens_out=tout))  # fmt: skip
    except Exception:  # noqa: BLE001 - a crashing case is reported, never allowed to stop the run
        run.error = traceback.format_exc(limit=6)[-2000:]
    return run


def score_run(case: Case, run: CaseRun, env: TruthEnv) -> list[Score]:
    """Every check of every turn.

    Raises:
        EvalDataError: ground truth that cannot be read or aligned.
    """
    scores: list[Score] = []
    for index, (turn, record) in enumerate(zip(case.turns(), run.turns, strict=False)):
        if record.answer is None:
            continue
        scores.extend(score_answer(turn.expect, record.answer, latency_s=record.latency_s, turn=index))
        if turn.expect.truth is not None:
            scores.append(score_truth(turn.expect.truth, record.answer, env, turn=index))
    return scores


def decide(result: CaseResult) -> CaseResult:
    """Set the outcome from the scores: failed when a scored check failed (with every reason), else passed."""
    if result.outcome in ("error", "timeout", "skipped"):
        return result
    failing = [s for s in result.scores if s.passed is False]
    if failing:
        result.outcome = "failed"
        result.reason = "; ".join(f"{s.name}: {s.detail or 'failed'}" for s in failing)
    else:
        result.outcome, result.reason = "passed", ""
    return result


def solve(task: CaseTask) -> CaseResult:
    """Run and score one case (never raises)."""
    case, config = task.case, task.config
    run = run_case(case, config)
    answers = [t.answer or {} for t in run.turns]
    result = CaseResult(
        suite=task.suite, case_id=case.id, tags=case.tags, outcome="passed", turns=run.turns,
        latency_s=round(sum(t.latency_s for t in run.turns), 3),
        model_calls=sum(int(a.get("model_calls", 0)) for a in answers),
        tokens_in=sum(t.tokens_in for t in run.turns), tokens_out=sum(t.tokens_out for t in run.turns),
    )  # fmt: skip
    if run.error:
        result.outcome, result.reason = "error", f"agent crashed: {run.error.strip().splitlines()[-1]}"
        return result
    try:
        db = _context(run_settings(config, timeout_s=config.timeout_s)).db
        result.scores = score_run(case, run, TruthEnv(data_root=config.data_root, db=db))
    except EvalDataError as exc:
        result.outcome, result.reason = "error", f"ground truth: {exc}"
    except Exception as exc:  # noqa: BLE001 - a scorer bug must not stop the run either
        result.outcome, result.reason = "error", f"scorer crashed: {type(exc).__name__}: {exc}"
    return decide(result)
