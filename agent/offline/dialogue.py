"""The dialogue state of a thread: the current task as typed slots, the pending question, the last result.

Each final message of the offline planner carries the state in ``additional_kwargs["geovigie"]["dialogue"]``
(plain JSON), so it is checkpointed with the thread's messages and survives a restart of the server; the next turn
reads it back from the latest final message. Slots:

- ``task``: the understood question the last turn worked on (intent, change, object, place, country, bbox,
  point, radius, dates, item references, cloud and resolution limits, sensor, language);
- ``pending``: what the agent asked, when it asked (``asks`` = ``place``/``date``/``image``/``topic``, the
  ``options`` it offered, the ``place`` it was about);
- ``analysis_turn``: the turn whose tool results (figures, polygons, map layers) "show me the polygons" returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from geovigie.agent.offline.dates import DateInfo
from geovigie.agent.offline.examples import examples_from_json
from geovigie.agent.offline.periods import Period
from geovigie.agent.offline.understanding import Understanding

STATE_KEY = "dialogue"
_TUPLES = ("place_options", "item_refs", "tied_items")
_OPTIONAL_TUPLES = ("bbox", "point")


def _period(p: Period | None) -> list[str] | None:
    return list(p.iso()) if p else None


def _unperiod(v: Sequence[str] | None) -> Period | None:
    return Period(date.fromisoformat(v[0]), date.fromisoformat(v[1])) if v else None


def dates_to_dict(d: DateInfo) -> dict[str, Any]:
    """A DateInfo as JSON (spans are dropped: they index a question that is gone)."""
    return {"kind": d.kind, "period": _period(d.period), "before": _period(d.before), "after": _period(d.after),
            "unit": d.unit, "flags": sorted(d.flags), "event": d.event}  # fmt: skip


def dates_from_dict(v: Mapping[str, Any]) -> DateInfo:
    """The DateInfo written by :func:`dates_to_dict`."""
    return DateInfo(kind=v.get("kind", "none"), period=_unperiod(v.get("period")), before=_unperiod(v.get("before")),
                    after=_unperiod(v.get("after")), unit=v.get("unit"), flags=frozenset(v.get("flags", ())),
                    event=v.get("event"))  # fmt: skip


def task_to_dict(u: Understanding) -> dict[str, Any]:
    """The task slots of an understanding, as JSON."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(u):
        value = getattr(u, f.name)
        if f.name == "dates":
            value = dates_to_dict(value)
        elif f.name == "today":
            value = value.isoformat()
        elif f.name == "flags":
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def task_from_dict(v: Mapping[str, Any]) -> Understanding | None:
    """The understanding written by :func:`task_to_dict` (None when the record is not one)."""
    try:
        values = dict(v)
        values["dates"] = dates_from_dict(values["dates"])
        values["today"] = date.fromisoformat(values["today"])
        values["flags"] = frozenset(values.get("flags", ()))
        for name in _TUPLES:
            values[name] = tuple(values.get(name) or ())
        for name in _OPTIONAL_TUPLES:
            values[name] = tuple(values[name]) if values.get(name) else None
        values["examples"] = examples_from_json(values.get("examples"))
        names = {f.name for f in dataclasses.fields(Understanding)}
        return Understanding(**{k: val for k, val in values.items() if k in names})
    except (KeyError, TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class DialogueState:
    """What a thread remembers between turns."""

    task: Understanding | None = None
    asks: str | None = None
    """The slot the agent's last clarifying question asked for (``place``, ``date``, ``image``, ``topic``)."""
    options: tuple[str, ...] = ()
    """The choices that question offered ("León (ES)", "León (NI)")."""
    analysis_turn: int | None = None
    """The latest turn whose tools produced results (figures, artifacts)."""
    language: str | None = None
    earlier_dates: DateInfo | None = None
    """The dates of the task before the current one, when a follow-up changed them ("compare les deux")."""

    def to_dict(self) -> dict[str, Any]:
        """JSON for the final message's metadata."""
        task = task_to_dict(self.task) if self.task else None
        earlier = dates_to_dict(self.earlier_dates) if self.earlier_dates else None
        return {"task": task, "asks": self.asks, "options": list(self.options), "earlier_dates": earlier,
                "analysis_turn": self.analysis_turn, "language": self.language}  # fmt: skip

    @classmethod
    def from_dict(cls, v: Mapping[str, Any]) -> DialogueState:
        """The state written by :meth:`to_dict`."""
        task = task_from_dict(v["task"]) if v.get("task") else None
        earlier = dates_from_dict(v["earlier_dates"]) if v.get("earlier_dates") else None
        return cls(task=task, asks=v.get("asks"), options=tuple(v.get("options") or ()), earlier_dates=earlier,
                   analysis_turn=v.get("analysis_turn"), language=v.get("language"))  # fmt: skip


def last_state(messages: Sequence[BaseMessage]) -> DialogueState:
    """The state left by the latest final message of the planner (an empty state on a new thread)."""
    for msg in reversed(messages):
        if isinstance(msg, AIMessage) and not msg.tool_calls:
            meta = (msg.additional_kwargs or {}).get("geovigie") or {}
            if isinstance(meta.get(STATE_KEY), Mapping):
                return DialogueState.from_dict(meta[STATE_KEY])
    return DialogueState()
