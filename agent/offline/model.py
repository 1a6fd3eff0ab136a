"""The offline planner as a chat model: the embedded default when no LLM endpoint is configured.

It is deterministic: :func:`geovigie.agent.offline.understanding.understand` reads the French/English question and
:func:`geovigie.agent.offline.playbooks.next_step` replays the turn's tool records against a plan template. It emits
the same
``AIMessage.tool_calls`` an LLM would, so both planners share one graph. Follow-ups ("and in 2017?", "et à
Nantes ?", "show me the polygons") reuse the thread's previous question.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict
from sqlalchemy import select

from geovigie.agent.offline.compose import compose_answer
from geovigie.agent.offline.decisions import Abstain, Clarify, Finish, ToolCall
from geovigie.agent.offline.playbooks import next_step
from geovigie.agent.offline.understanding import Understanding, understand
from geovigie.core.db.models import CatalogItem

_SHOW_ARTIFACTS = re.compile(
    r"\b(show|give|download|export|montre|montrez|donne|donnez|télécharger|telecharger|exporter)\b.*"
    r"\b(polygons?|polygones?|geojson|mask|masque|contours?|overlay|carte|map)\b",
    re.IGNORECASE,
)


_FOLLOW_UP = re.compile(
    r"(?i)^(and|also|what about|how about|same (for|in|at)|now|then|et|aussi|et pour|et à|et a|et en|même chose|"
    r"meme chose|pareil|idem|maintenant)\b"
)
"""Openings of a follow-up question that leans on the previous one ("and in 2017?", "et à Nantes ?")."""


def _utc_today() -> date:
    return datetime.now(UTC).date()


class OfflinePlanner(BaseChatModel):
    """Deterministic FR/EN planner exposed through the chat-model interface."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    ctx: Any = None
    """ToolContext, used to list catalog item ids so that named images are recognised."""
    today: Callable[[], date] = _utc_today
    _ids_cache: tuple[float, tuple[str, ...]] = (0.0, ())

    @property
    def _llm_type(self) -> str:
        return "geovigie-offline-planner"

    def _known_items(self) -> tuple[str, ...]:
        if self.ctx is None:
            return ()
        stamp, ids = self._ids_cache
        if time.monotonic() - stamp < 5.0:
            return ids
        with self.ctx.db.session() as session:
            ids = tuple(session.scalars(select(CatalogItem.id)).all())
        self._ids_cache = (time.monotonic(), ids)
        return ids

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.decide(messages))])

    def decide(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next message: tool calls, or the final text with its status."""
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        if not humans:
            return self._final("", "clarify", "Which place or image, and what would you like to know?")
        current = messages[humans[-1]]
        question = str(current.content)
        history = [dict(m.artifact) for m in messages[humans[-1] + 1 :] if isinstance(m, ToolMessage) and m.artifact]
        previous = [str(messages[i].content) for i in humans[:-1]]
        if _SHOW_ARTIFACTS.search(question) and previous and not history:
            return self._show_previous_artifacts(messages[: humans[-1]], question)
        u = self._understand(question, previous)
        decision = next_step(u, history)
        if isinstance(decision, ToolCall):
            call = {
                "name": decision.tool,
                "args": decision.args,
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "tool_call",
            }
            return AIMessage(content=decision.reason or "", tool_calls=[call])
        if isinstance(decision, Clarify):
            return self._final(u.language, "clarify", decision.question)
        if isinstance(decision, Abstain):
            return self._final(
                u.language, "abstain", f"{decision.reason} {decision.suggestion}".strip(), decision.notes
            )
        assert isinstance(decision, Finish)
        text = compose_answer(
            history, u.language, fallback=decision.message, notes=decision.notes, change_expected=u.change
        )
        return self._final(u.language, "answered", text)

    def _understand(self, question: str, previous: Sequence[str]) -> Understanding:
        today, known = self.today(), self._known_items()
        u = understand(question, today=today, known_items=known)
        follow_up = bool(_FOLLOW_UP.match(question.strip()))
        generic = u.intent in ("unknown", "change_generic")
        if not previous or u.item_refs or (u.has_aoi and not (follow_up and generic)):
            return u
        prior = understand(previous[-1], today=today, known_items=known)
        if prior.clarification or prior.intent == "unknown":
            return u
        return _merge_followup(prior, u)

    def _show_previous_artifacts(self, earlier: Sequence[BaseMessage], question: str) -> AIMessage:
        lang = (
            "fr" if re.search(r"\b(montre|donne|télécharger|telecharger|polygones|carte)\b", question, re.I) else "en"
        )
        arts: list[str] = []
        for msg in earlier:
            if isinstance(msg, ToolMessage) and msg.artifact:
                for art in (msg.artifact.get("output") or {}).get("artifacts", []):
                    if art.get("kind") in ("geojson", "cog", "png"):
                        arts.append(f"- {art.get('title')} ({art.get('role')}, {art.get('kind')}): {art.get('path')}")
        if not arts:
            text = "Aucun résultat précédent à montrer." if lang == "fr" else "There is no earlier result to show."
            return self._final(lang, "clarify", text)
        head = "Résultats de l'analyse précédente :" if lang == "fr" else "Results of the previous analysis:"
        return self._final(lang, "answered", head + "\n" + "\n".join(dict.fromkeys(arts)))

    @staticmethod
    def _final(language: str, status: str, text: str, notes: Sequence[str] = ()) -> AIMessage:
        body = text if not notes else text + "\n\n" + " ".join(dict.fromkeys(notes))
        return AIMessage(content=body, additional_kwargs={"geovigie": {"status": status, "planner": "offline"}})


def _merge_followup(prior: Understanding, new: Understanding) -> Understanding:
    """A follow-up inherits what it does not restate: intent, place and dates from the previous question."""
    changes: dict[str, Any] = {"question": new.question, "clean_question": new.clean_question, "clarification": None}
    changes["language"] = new.language
    if new.intent not in ("unknown", "change_generic"):
        changes.update(intent=new.intent, change=new.change, object=new.object or prior.object)
    elif new.intent == "change_generic" and not prior.change:
        changes["change"] = True
    if new.has_aoi:
        changes.update(place=new.place, country=new.country, bbox=new.bbox, point=new.point, radius_km=new.radius_km)
        changes["place_options"] = new.place_options
    if new.dates.period is not None or new.dates.kind != "none":
        changes["dates"] = new.dates
    if new.max_cloud is not None:
        changes["max_cloud"] = new.max_cloud
    merged = dataclasses.replace(prior, **changes)
    if new.place_options and new.clarification:
        return dataclasses.replace(merged, clarification=new.clarification)
    return merged
