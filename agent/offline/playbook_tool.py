"""``run_playbook``: the risk playbooks as one tool, so that an LLM planner needs two round trips, not six.

The LLM picks the playbook by passing the question (and optional corrections: place, country, object, item ids);
the deterministic planner then runs geocode -> search_imagery -> analysis itself, with the same date logic,
cloud screening and abstention rules as the offline planner. The inner steps are returned in the result so
that the answer's figures, provenance and artifacts are exactly those of the tools that ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from geovigie.agent.offline.compose import compose_answer
from geovigie.agent.offline.decisions import Abstain, Clarify, Finish, ToolCall
from geovigie.agent.offline.playbooks import next_step, playbook_for
from geovigie.agent.offline.slots import TaskSlots, apply_slots
from geovigie.agent.offline.understanding import understand
from geovigie.agent.state import StepRecord
from geovigie.core.domain import Figure, Provenance, ToolOutput
from geovigie.core.errors import GeoVigieError, ToolInputError
from geovigie.tools.base import GeoTool, ToolContext, geo_tool

MAX_INNER_STEPS = 10


class RunPlaybookInput(TaskSlots):
    """Arguments of ``run_playbook``: the question and the task slots the model read from it."""

    question: str = Field(min_length=1, max_length=2000, description="The user's question, as asked (FR or EN).")


class PlaybookResult(BaseModel):
    """Outcome of a playbook run: the decision, the answer text and every inner tool step."""

    playbook: str
    outcome: Literal["answered", "clarify", "abstain"]
    text: str
    steps: list[dict[str, Any]]


def _today() -> date:
    return datetime.now(UTC).date()


def make_run_playbook(
    tools: Mapping[str, GeoTool[Any]], *, today: Callable[[], date] = _today
) -> GeoTool[RunPlaybookInput]:
    """Build the ``run_playbook`` tool over a tool registry (the tools it may call)."""

    @geo_tool(name="run_playbook", input_model=RunPlaybookInput)
    def run_playbook(args: RunPlaybookInput, ctx: ToolContext) -> ToolOutput[PlaybookResult]:
        """Answer a risk question in one call with GeoVigie's plan templates (preferred for most questions).

        Covers: flood / water extent, burn scars, deforestation, urban growth and construction, industrial
        activity, land cover, counting objects (trees, ships, vehicles, buildings, storage tanks), finding and
        describing imagery. It geocodes the place, searches imagery for the dates in the question, screens clouds,
        checks the pixel size, runs the analysis and returns measured figures with scenes, dates and method —
        or says why it cannot (no imagery, too cloudy, pixel too coarse, ambiguous place). Pass the user's
        question verbatim, and fill the slots you can read from the conversation: intent, place (+ country when
        the user chose one of several homonyms) or bbox, period or before/after, item_ids (exact catalog ids,
        also for "that image" / "the 2018 one"), object. Empty slots are read from the question.
        """
        u = understand(args.question, today=today(), known_items=tuple(args.item_ids or ()))
        u = apply_slots(u, args)  # the model's slots win; the rules fill the ones it left empty
        steps: list[StepRecord] = []
        decision = next_step(u, steps)
        while isinstance(decision, ToolCall) and len(steps) < MAX_INNER_STEPS:
            steps.append(_run(tools, decision, ctx))
            decision = next_step(u, steps)
        if isinstance(decision, ToolCall):
            raise ToolInputError("The plan did not finish within its step budget.", hint="Ask a narrower question.")
        return _output(u, decision, steps)

    return run_playbook


def _run(tools: Mapping[str, GeoTool[Any]], call: ToolCall, ctx: ToolContext) -> StepRecord:
    step = StepRecord(tool=call.tool, args=call.args, ok=False, error=None, error_type=None, output=None)
    started = time.perf_counter()
    try:
        output = tools[call.tool].run(call.args, ctx)
    except GeoVigieError as exc:
        step["error"], step["error_type"] = exc.user_message, type(exc).__name__
    else:
        step["ok"], step["summary"] = True, output.for_model()
        step["output"] = output.model_dump(mode="json")
    step["duration_s"] = round(time.perf_counter() - started, 3)
    return step


def _output(u: Any, decision: Finish | Clarify | Abstain, steps: list[StepRecord]) -> ToolOutput[PlaybookResult]:
    name = playbook_for(u).name
    if isinstance(decision, Finish):
        outcome: Literal["answered", "clarify", "abstain"] = "answered"
        text = compose_answer(
            steps, u.language, fallback=decision.message, notes=decision.notes, change_expected=u.change
        )
    elif isinstance(decision, Clarify):
        outcome, text = "clarify", decision.question
    else:
        outcome, text = "abstain", f"{decision.reason} {decision.suggestion}".strip()
    figures: list[Figure] = []
    artifacts = []
    for step in steps:
        out = step.get("output") or {}
        figures += [Figure.model_validate(f) for f in out.get("figures", [])]
        artifacts += out.get("artifacts", [])
    analysis = [s for s in steps if s.get("ok") and s["tool"] not in ("geocode", "search_imagery")]
    chosen = analysis or [s for s in steps if s.get("ok")]
    last_out = chosen[-1].get("output") if chosen else None
    if last_out:
        prov = Provenance.model_validate(last_out["provenance"])
    else:
        prov = Provenance(tool="run_playbook", method=name)
    prov.parameters = {**prov.parameters, "playbook": name, "inner_tools": [s["tool"] for s in steps]}
    return ToolOutput(
        summary=f"[{outcome}] {text}",
        result=PlaybookResult(playbook=name, outcome=outcome, text=text, steps=[dict(s) for s in steps]),
        provenance=prov,
        figures=[],  # the inner steps carry the figures with their own provenance (see agent.answer)
        artifacts=artifacts,
        notes=[],
    )
