"""What the offline planner decides at each step, and how it reads the records of past steps.

A planner step returns exactly one of :class:`ToolCall`, :class:`Finish`, :class:`Clarify` or
:class:`Abstain`. Tool names are checked against :data:`ALLOWED_TOOLS` when a call is built, so no text in a
question can make the offline planner call anything else.

Past steps are :class:`geovigie.agent.state.StepRecord` mappings (``tool``, ``args``, ``ok``, ``error``,
``error_type``, ``output`` = ``ToolOutput.model_dump()``); a bare ``result`` key is accepted too, so tests and
evals can pass the tool's result payload directly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geovigie.agent.offline.dates import fold

ALLOWED_TOOLS = frozenset(
    {"geocode", "search_imagery", "quicklook", "segment", "count_objects", "detect_change", "ask_image", "find_similar",
     "map_from_examples"}
)  # fmt: skip
"""The only tools the offline planner may call."""

FIXABLE_ERRORS = frozenset({"ToolInputError"})
"""Error types worth one retry with corrected arguments (see :func:`repair_args`)."""


@dataclass(frozen=True)
class ToolCall:
    """Call one tool with these arguments next."""

    tool: str
    args: dict[str, Any]
    reason: str = ""

    def __post_init__(self) -> None:
        if self.tool not in ALLOWED_TOOLS:
            raise ValueError(f"tool {self.tool!r} is not one the offline planner may call")


@dataclass(frozen=True)
class Finish:
    """The plan is complete; the answer can be composed from the step records."""

    message: str
    item_ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clarify:
    """Ask the user one question before doing anything else."""

    question: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Abstain:
    """The question cannot be answered as asked; say why and what would work."""

    reason: str
    suggestion: str
    code: str
    """``future``, ``out_of_scope``, ``no_data``, ``too_cloudy``, ``too_coarse``, ``one_date``, ``tool_failed``."""
    notes: tuple[str, ...] = field(default=())


Decision = ToolCall | Finish | Clarify | Abstain


def record_result(record: Mapping[str, Any]) -> dict[str, Any]:
    """The result payload of a successful step (empty dict when absent)."""
    if isinstance(record.get("result"), Mapping):
        return dict(record["result"])
    output = record.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("result"), Mapping):
        return dict(output["result"])
    return {}


def is_fixable(record: Mapping[str, Any]) -> bool:
    """True when a failed step's error says the arguments can be corrected."""
    return not record.get("ok") and (record.get("error_type") in FIXABLE_ERRORS or record.get("fixable") is True)


_TOO_LARGE = re.compile(r"too (?:large|big)|trop grand|exceed\w*|depasse\w*|max_aoi|superficie")


def _shrink(bbox: list[float]) -> list[float]:
    """Half the width and height around the centre (a quarter of the area)."""
    w, s, e, n = bbox
    cx, cy, hx, hy = (w + e) / 2, (s + n) / 2, (e - w) / 4, (n - s) / 4
    return [round(cx - hx, 6), round(cy - hy, 6), round(cx + hx, 6), round(cy + hy, 6)]


def repair_args(args: Mapping[str, Any], error: str) -> dict[str, Any] | None:
    """Arguments corrected after a :class:`~geovigie.core.errors.ToolInputError`, or None when nothing can be fixed.

    Fixes: an inverted bbox (sorted), an area too large (bbox shrunk around its centre), inverted dates
    (swapped), a cloud limit outside 0-100 (clamped), arguments the tool rejects as unexpected (dropped).
    """
    msg = fold(error or "")
    fixed = dict(args)
    bbox = fixed.get("bbox")
    if isinstance(bbox, list | tuple) and len(bbox) == 4:
        w, s, e, n = (float(v) for v in bbox)
        fixed["bbox"] = [min(w, e), min(s, n), max(w, e), max(s, n)]
        if _TOO_LARGE.search(msg):
            fixed["bbox"] = _shrink(fixed["bbox"])
    start, end = fixed.get("start"), fixed.get("end")
    if isinstance(start, str) and isinstance(end, str) and start > end:
        fixed["start"], fixed["end"] = end, start
    if isinstance(fixed.get("max_cloud"), int | float):
        fixed["max_cloud"] = min(100.0, max(0.0, float(fixed["max_cloud"])))
    if re.search(r"extra|unexpected|not permitted|inattendu", msg):
        for key in [k for k in fixed if re.search(rf"\b{re.escape(k)}\b", msg)]:
            del fixed[key]
    return fixed if fixed != dict(args) else None
