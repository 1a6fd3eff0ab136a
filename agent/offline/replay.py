"""Replaying a playbook against the steps already run: each step's result if it ran, else the next call."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from geovigie.agent.offline.countries import options_from_error, readable_options
from geovigie.agent.offline.decisions import (
    Abstain,
    Clarify,
    Decision,
    ToolCall,
    is_fixable,
    record_result,
    repair_args,
)
from geovigie.agent.offline.messages import say
from geovigie.agent.offline.place_phrase import bare_name
from geovigie.agent.offline.place_span import known_part
from geovigie.agent.offline.understanding import Understanding

_TERMINAL_CODES = {"ResolutionTooCoarseError": "too_coarse", "TooCloudyError": "too_cloudy", "NoDataError": "no_data"}


class _Stop(Exception):
    """Carries the decision out of the nested replay (never escapes :func:`next_step`)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(type(decision).__name__)
        self.decision = decision


def _drop_none(args: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if v is not None}


def _ref_date(ref: str) -> str:
    m = re.search(r"((?:19|20)\d{2})-?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])", ref)  # not a path/row or tile
    return "".join(m.groups()) if m else ""


def _describe_item(item: Mapping[str, Any]) -> str:
    day = str(item.get("datetime") or "")[:10] or "?"
    cloud = item.get("cloud_cover")
    cloud_text = f"{cloud:g}% clouds" if isinstance(cloud, int | float) else "cloud cover unknown"
    gsd = item.get("gsd")
    gsd_text = f"{gsd:.1f} m" if isinstance(gsd, int | float) else "pixel size unknown"
    return f"{item.get('id')} ({day}, {cloud_text}, {gsd_text})"


def _option(alt: Any) -> str:
    if isinstance(alt, Mapping):
        code = alt.get("country_code") or alt.get("country") or ""
        return f"{alt.get('name', '?')} ({code})" if code else str(alt.get("name", "?"))
    return str(alt)


class _Replay:
    """Walks the playbook against the step records; raises :class:`_Stop` at the first step not done."""

    def __init__(self, u: Understanding, history: Sequence[Mapping[str, Any]]) -> None:
        self.u = u
        self.history = list(history)
        self.pos = 0
        self.ran: list[str] = []
        self.last_args: dict[str, Any] = {}
        """Arguments of the last step replayed successfully (a retry may have changed them)."""

    def call(self, tool: str, args: dict[str, Any], reason: str) -> dict[str, Any]:
        """The result of this step if it already ran, else stop with the call (or a retry/abstention)."""
        attempts: list[Mapping[str, Any]] = []
        while self.pos < len(self.history) and self.history[self.pos].get("tool") == tool:
            attempts.append(self.history[self.pos])
            self.pos += 1
            if attempts[-1].get("ok"):
                break
        if not attempts:
            raise _Stop(ToolCall(tool, args, reason))
        if attempts[-1].get("ok"):
            self.ran.append(tool)
            self.last_args = dict(attempts[-1].get("args") or {})
            return record_result(attempts[-1])
        raise _Stop(self._failure(tool, attempts))

    def _failure(self, tool: str, attempts: list[Mapping[str, Any]]) -> Decision:
        last, lang = attempts[-1], self.u.language
        error, kind = str(last.get("error") or ""), str(last.get("error_type") or "")
        if tool == "geocode" and kind != "UpstreamError":
            if kind == "AmbiguousPlaceError":
                # the tool's message is for the planner; the user gets a question, with the choices it offers
                options = options_from_error(error) or self.u.place_options
                if not options:
                    return Clarify(say("which_place", lang))
                text = say("ambiguous_place", lang, place=self.u.place or "", options=readable_options(options, lang))
                return Clarify(text, options)
            bare = bare_name(self.u.place or "") or known_part(self.u.place or "")
            if bare and len(attempts) == 1:
                args = {**dict(last.get("args") or {}), "query": bare}
                return ToolCall(tool, args, "the gazetteer lacks the feature or site: locate the place named after it")
            return Clarify(say("place_not_found", lang, place=self.u.place or ""))
        if is_fixable(last) and len(attempts) == 1:
            fixed = repair_args(dict(last.get("args") or {}), error)
            if fixed is not None:
                return ToolCall(tool, fixed, "retry with corrected arguments")
        code = _TERMINAL_CODES.get(kind, "tool_failed")
        return Abstain(say("tool_failed", lang, tool=tool, error=error), say(f"{code}_hint", lang), code)
