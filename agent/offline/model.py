"""The offline planner as a chat model: the embedded default when no LLM endpoint is configured.

It is deterministic: :func:`geovigie.agent.offline.understanding.understand` reads the French/English question and
:func:`geovigie.agent.offline.playbooks.next_step` replays the turn's tool records against a plan template. It emits
the same
``AIMessage.tool_calls`` an LLM would, so both planners share one graph.

Each final message carries the thread's dialogue state (:mod:`geovigie.agent.offline.dialogue`): a reply to a
clarifying question fills the slot it asked for, a follow-up ("and in 2017?", "et à Nantes ?") replaces only the
slots it names (:mod:`geovigie.agent.offline.followup`), and "show me the polygons" returns the latest analysis'
results without running anything (:mod:`geovigie.agent.offline.reuse`).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr
from sqlalchemy import select

from geovigie.agent.offline.compose import compose_answer
from geovigie.agent.offline.decisions import Abstain, Clarify, Finish, ToolCall
from geovigie.agent.offline.dialogue import STATE_KEY, DialogueState, last_state
from geovigie.agent.offline.examples import footprint_check, turn_examples
from geovigie.agent.offline.followup import combine, weak_language
from geovigie.agent.offline.item_facts import ItemFacts, row_facts
from geovigie.agent.offline.locate import asks_where, location_line
from geovigie.agent.offline.playbooks import next_step
from geovigie.agent.offline.reuse import artifact_request, reuse_text
from geovigie.agent.offline.understanding import THEMES, Understanding, understand
from geovigie.core.db.models import CatalogItem


def _utc_today() -> date:
    return datetime.now(UTC).date()


class OfflinePlanner(BaseChatModel):
    """Deterministic FR/EN planner exposed through the chat-model interface."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    ctx: Any = None
    """ToolContext, used to list catalog item ids so that named images are recognised."""
    today: Callable[[], date] = _utc_today
    _ids_cache: tuple[float, tuple[str, ...]] = (0.0, ())
    _facts_cache: dict[str, ItemFacts] = PrivateAttr(default_factory=dict)

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
            missing = [i for i in ids if i not in self._facts_cache]
            for chunk in range(0, len(missing), 500):
                rows = session.scalars(select(CatalogItem).where(CatalogItem.id.in_(missing[chunk : chunk + 500])))
                for row in rows:
                    self._facts_cache[row.id] = row_facts(row)
        self._ids_cache = (time.monotonic(), ids)
        return ids

    def _item_facts(self) -> dict[str, ItemFacts]:
        """What the catalog records of each known item (refreshed with the ids)."""
        return self._facts_cache

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.decide(messages))])

    def decide(self, messages: Sequence[BaseMessage]) -> AIMessage:
        """The next message: tool calls, or the final text with its status and the thread's dialogue state."""
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        if not humans:
            return self._final("", "clarify", "Which place or image, and what would you like to know?")
        current = messages[humans[-1]]
        history = [dict(m.artifact) for m in messages[humans[-1] + 1 :] if isinstance(m, ToolMessage) and m.artifact]
        state = last_state(messages[: humans[-1]])
        turn = len(humans)
        known = self._known_items()
        fresh = understand(
            str(current.content),
            today=self.today(),
            known_items=known,
            item_facts=self._item_facts(),
            guess_unknown_place=state.task is None,  # a follow-up's place comes from the dialogue state
        )
        new_topic = fresh.intent in THEMES and state.task is not None and fresh.intent != state.task.intent
        asked = " ".join(str(m.content) for m in messages[: humans[-1]] if isinstance(m, HumanMessage))
        asked = asked if state.task is not None else ""
        if (
            not history
            and fresh.intent != "map_examples"
            and not new_topic
            and not (state.task is None and fresh.intent in THEMES)  # a first question with a topic asks anew
            and (kind := artifact_request(fresh, asked))
        ):
            return self._reuse(kind, fresh, state)
        u = self._understand(fresh, state)
        covers = footprint_check(self.ctx.db) if self.ctx is not None else None
        u = turn_examples(u, fresh, current, state.task, messages[: humans[-1]], covers)  # map clicks, API field
        decision = next_step(u, history)
        if isinstance(decision, ToolCall):
            call = {"name": decision.tool, "args": decision.args, "id": f"call_{uuid.uuid4().hex[:12]}",
                    "type": "tool_call"}  # fmt: skip
            return AIMessage(content=decision.reason or "", tool_calls=[call])
        analysed = turn if any(r.get("ok") and (r.get("output") or {}).get("artifacts") for r in history) else None
        earlier = state.earlier_dates
        if state.task is not None and state.task.dates.period and state.task.dates != u.dates:
            earlier = state.task.dates
        after = DialogueState(task=u, analysis_turn=analysed or state.analysis_turn, language=u.language,
                              earlier_dates=earlier)  # fmt: skip
        if isinstance(decision, Clarify):
            asks = u.asks if u.clarification else ("place" if decision.options else u.asks)
            offered = decision.options or (u.tied_items if asks == "image" else ())  # the images it may mean
            after = dataclasses.replace(after, asks=asks or "place", options=offered)
            return self._final(u.language, "clarify", decision.question, state=after)
        if isinstance(decision, Abstain):
            text = f"{decision.reason} {decision.suggestion}".strip()
            return self._final(u.language, "abstain", text, decision.notes, state=after)
        assert isinstance(decision, Finish)
        text = compose_answer(
            history, u.language, fallback=decision.message, notes=decision.notes, change_expected=u.change
        )
        if asks_where(u.question) and (where := location_line(history, u.language)):
            text = where + "\n\n" + text  # "where is X?": the place and its extent first
        return self._final(u.language, "answered", text, state=after)

    def _understand(self, fresh: Understanding, state: DialogueState) -> Understanding:
        """This turn's task: the question read alone, combined with the thread's dialogue state."""
        return combine(fresh, state, self._known_items(), self._item_facts())

    def _reuse(self, kind: str, fresh: Understanding, state: DialogueState) -> AIMessage:
        """Return the latest analysis' results without running anything."""
        language = state.language if state.language and _weak(fresh) else fresh.language
        if state.analysis_turn is None or state.task is None:
            return self._final(language, "clarify", reuse_text("none", language), state=state)
        task = state.task
        what = ", ".join(p for p in (_TOPICS.get(task.intent, {}).get(language, ""), task.place or "") if p)
        meta = {"reuse_turn": state.analysis_turn, "reuse": kind}
        kept = dataclasses.replace(state, asks=None, options=(), language=language)
        return self._final(language, "answered", reuse_text(kind, language, what), state=kept, extra=meta)

    @staticmethod
    def _final(
        language: str, status: str, text: str, notes: Sequence[str] = (), *, state: DialogueState | None = None,
        extra: dict[str, Any] | None = None,
    ) -> AIMessage:  # fmt: skip
        body = text if not notes else text + "\n\n" + " ".join(dict.fromkeys(notes))
        meta: dict[str, Any] = {"status": status, "planner": "offline", "language": language, **(extra or {})}
        if state is not None:
            meta[STATE_KEY] = state.to_dict()
        return AIMessage(content=body, additional_kwargs={"geovigie": meta})


def _weak(u: Understanding) -> bool:
    return weak_language(u.question)


_TOPICS: dict[str, dict[str, str]] = {
    "water_flood": {"en": "water and flooding", "fr": "eau et inondation"},
    "burn": {"en": "burnt area", "fr": "surface brûlée"},
    "deforestation": {"en": "forest loss", "fr": "perte de forêt"},
    "urban_growth": {"en": "urban growth", "fr": "croissance urbaine"},
    "industrial_activity": {"en": "industrial activity", "fr": "activité industrielle"},
    "count_objects": {"en": "object count", "fr": "comptage"},
    "land_cover": {"en": "land cover", "fr": "occupation du sol"},
    "vegetation": {"en": "vegetation", "fr": "végétation"},
    "cloud": {"en": "cloud cover", "fr": "couverture nuageuse"},
    "describe": {"en": "image description", "fr": "description d'image"},
    "change_generic": {"en": "change", "fr": "changement"},
    "find_similar": {"en": "similar places", "fr": "lieux semblables"},
    "map_examples": {"en": "map from examples", "fr": "carte à partir d'exemples"},
}
"""The topic of a task, named in the answer of a reuse turn."""
