"""The finalize node: turn the planner's last message and the turn's tool steps into an :class:`Answer`."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from geovigie.agent.answer import Answer, TraceStep, collect_evidence, evidence_block
from geovigie.agent.events import AnswerText, FinalEvent, emit
from geovigie.agent.language import detect_language
from geovigie.agent.state import AgentState


def _stopped_text(reason: str, language: str) -> str:
    if language == "fr":
        return f"Je n'ai pas pu terminer l'analyse : {reason}."
    return f"I could not finish the analysis: {reason}."


def _playbook_outcome(steps: list[Any]) -> str | None:
    """Outcome of the turn's last ``run_playbook`` call (clarify / abstain), for planners that do not say."""
    for step in reversed(steps):
        if step.get("tool") == "run_playbook" and step.get("ok"):
            return str(((step.get("output") or {}).get("result") or {}).get("outcome") or "") or None
    return None


def finalize_node(state: AgentState, config: RunnableConfig) -> dict[str, Any]:
    """Compose the turn's answer: planner text + evidence lines from tool provenance."""
    messages = state.get("messages", [])
    question = next((str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    turn = state.get("turn", 1)
    steps = [s for s in state.get("steps", []) if s.get("turn") == turn]
    last = messages[-1] if messages else None
    planner_text = str(last.content) if isinstance(last, AIMessage) and not last.tool_calls else ""
    meta: dict[str, Any] = last.additional_kwargs.get("geovigie", {}) if isinstance(last, AIMessage) else {}
    # the planner knows the conversation's language ("Spain" answering a French question stays French)
    language = str(meta.get("language") or detect_language(question))
    stop_reason = state.get("stop_reason")
    reuse_turn = meta.get("reuse_turn")
    # "show me the polygons": nothing ran this turn; the answer carries the results of the turn it refers to
    evidence = [s for s in state.get("steps", []) if s.get("turn") == reuse_turn] if reuse_turn else steps
    figures, provenance, artifacts = collect_evidence(evidence)
    if stop_reason and not planner_text:
        text, status = _stopped_text(stop_reason, language), "error"
    else:
        text, status = planner_text, meta.get("status") or _playbook_outcome(steps) or "answered"
    if status == "answered" and figures and "**Sources" not in text:
        text += evidence_block(figures, language)
    notes: list[str] = []
    for step in steps:
        notes.extend((step.get("output") or {}).get("notes", []))
    answer = Answer(
        thread_id=str(config.get("configurable", {}).get("thread_id", "")),
        question=question,
        language=language,
        status=status,
        text=text.strip(),
        figures=figures,
        provenance=provenance,
        artifacts=artifacts,
        notes=list(dict.fromkeys(notes)),
        trace=[
            TraceStep(
                tool=s["tool"],
                args=s.get("args", {}),
                ok=bool(s.get("ok")),
                summary=s.get("summary", ""),
                duration_s=s.get("duration_s", 0.0),
                error_type=s.get("error_type"),
            )
            for s in steps
        ],
        planner=str(meta.get("planner", "")),
        model_calls=state.get("model_calls", 0),
        stop_reason=stop_reason,
    )
    emit(AnswerText(text=answer.text))
    dumped = answer.model_dump(mode="json")
    emit(FinalEvent(answer=dumped))
    update: dict[str, Any] = {"answer": dumped}
    if not planner_text:
        update["messages"] = [AIMessage(content=answer.text)]
    return update
