"""Scorers: pure functions of (expectation, answer) -> :class:`~geovigie.evals.results.Score`.

Deterministic checks only (no model-graded prose): status, tool calls and their arguments, numbers with
units and tolerance, categorical answers, required/forbidden text, provenance, and ground truth against the
produced artifact (see :mod:`geovigie.evals.truth`). ``answer`` is ``Answer.model_dump()`` of
:mod:`geovigie.agent.answer`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from geovigie.agent.answer import CONTEXT_TOOLS
from geovigie.agent.offline import fold
from geovigie.evals.results import Score
from geovigie.evals.schema import (
    Absent,
    AnyOf,
    Approx,
    ArgExpect,
    BBoxIoU,
    ChoiceExpect,
    Contains,
    DateNear,
    Equals,
    Expect,
    NumericExpect,
    Regex,
    Subset,
    TextExpect,
    ToolCallExpect,
    ToolsExpect,
)

INVALID_CALL_ERRORS = frozenset({"ToolInputError", "UnknownTool"})
"""Step errors that mean the planner produced a call that could not run as written (ThinkGeo 'Inst.')."""

_UNITS: dict[str, tuple[str, float]] = {
    "m2": ("area", 1.0), "m²": ("area", 1.0), "ha": ("area", 1e4), "km2": ("area", 1e6), "km²": ("area", 1e6),
    "m": ("length", 1.0), "km": ("length", 1e3), "%": ("percent", 1.0), "percent": ("percent", 1.0),
    "count": ("count", 1.0), "objects": ("count", 1.0), "items": ("count", 1.0), "": ("count", 1.0),
    "days": ("time", 1.0), "d": ("time", 1.0),
}  # fmt: skip
"""Known units: dimension and factor to the dimension's base unit."""


def same(expected: Any, actual: Any) -> bool:
    """Exact match: strings case/accent-insensitive, numbers to 1e-6, lists element-wise."""
    if isinstance(expected, str):
        return isinstance(actual, str) and fold(expected).strip() == fold(actual).strip()
    if isinstance(expected, bool) or expected is None:
        return bool(expected is actual or expected == actual)
    if isinstance(expected, int | float):
        return isinstance(actual, int | float) and not isinstance(actual, bool) and abs(expected - actual) < 1e-6
    if isinstance(expected, list | tuple):
        return (
            isinstance(actual, list | tuple)
            and len(expected) == len(actual)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def bbox_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two [west, south, east, north] boxes (planar, in their own units)."""
    w, s = max(a[0], b[0]), max(a[1], b[1])
    e, n = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, e - w) * max(0.0, n - s)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _as_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def match_arg(expected: ArgExpect, present: bool, actual: Any) -> bool:  # noqa: C901 - one branch per matcher
    """Whether an argument satisfies its expectation (see :data:`geovigie.evals.schema.ArgExpect`)."""
    if isinstance(expected, Absent):
        return (not present or actual is None) == expected.absent
    if not present:
        return False
    if isinstance(expected, Equals):
        return same(expected.equals, actual)
    if isinstance(expected, Approx):
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        return abs(actual - expected.approx) <= max(expected.abs, expected.rel * abs(expected.approx), 1e-9)
    if isinstance(expected, BBoxIoU):
        ok = isinstance(actual, list | tuple) and len(actual) == 4
        return ok and bbox_iou([float(v) for v in actual], expected.bbox) >= expected.min_iou
    if isinstance(expected, DateNear):
        day = _as_date(actual)
        return day is not None and abs((day - expected.date).days) <= expected.days
    if isinstance(expected, Contains):
        if isinstance(actual, str):
            return fold(str(expected.contains)) in fold(actual)
        return isinstance(actual, list | tuple) and any(same(expected.contains, a) for a in actual)
    if isinstance(expected, AnyOf):
        return any(same(e, actual) for e in expected.any_of)
    if isinstance(expected, Subset):
        return isinstance(actual, list | tuple) and all(any(same(e, a) for a in actual) for e in expected.subset)
    if isinstance(expected, Regex):
        return re.search(expected.regex, str(actual), re.IGNORECASE) is not None
    return same(expected, actual)


def _candidates(exp: ToolCallExpect, trace: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    of_tool = [(i, step) for i, step in enumerate(trace) if step.get("tool") == exp.tool]
    if exp.nth is not None:
        of_tool = of_tool[exp.nth : exp.nth + 1]
    if exp.index is not None:
        of_tool = [(i, s) for i, s in of_tool if i == exp.index]
    return [s for _, s in of_tool]


def _args_ok(exp: ToolCallExpect, step: Mapping[str, Any]) -> bool:
    args = step.get("args") or {}
    return all(match_arg(v, k in args, args.get(k)) for k, v in exp.args.items())


def _subsequence(needles: Sequence[str], hay: Sequence[str]) -> bool:
    it = iter(hay)
    return all(any(h == n for h in it) for n in needles)


def score_tools(expect: ToolsExpect, trace: Sequence[Mapping[str, Any]], turn: int = 0) -> list[Score]:
    """Tool selection (any order / in order / exact sequence) and argument accuracy."""
    called = [str(s.get("tool")) for s in trace]
    wanted = [c.tool for c in expect.calls]
    any_order = set(wanted + (expect.sequence or [])) <= set(called)
    in_order = _subsequence(expect.sequence if expect.sequence is not None else wanted, called)
    metrics: dict[str, float | None] = {"tool_any_order": float(any_order), "tool_in_order": float(in_order)}
    found = all(_candidates(c, trace) for c in expect.calls)
    ok = found and (any_order if expect.order == "any" else in_order and _subsequence(wanted, called))
    problems = [] if found else [f"missing {', '.join(c.tool for c in expect.calls if not _candidates(c, trace))}"]
    if expect.sequence is not None:
        exact = called == expect.sequence
        metrics["tool_exact"] = float(exact)
        ok = ok and exact
        if not exact:
            problems.append(f"sequence {called} != expected {expect.sequence}")
    elif found and expect.order == "in_order" and not in_order:
        problems.append(f"calls {called} not in the expected order {wanted}")
    banned = sorted(set(expect.forbidden) & set(called))
    if banned:
        ok, problems = False, [*problems, f"forbidden tool(s) called: {', '.join(banned)}"]
    if expect.max_calls is not None and len(called) > expect.max_calls:
        ok, problems = False, [*problems, f"{len(called)} calls > {expect.max_calls}"]
    scores = [Score(name="tools", passed=ok, value=float(ok), detail="; ".join(problems), metrics=metrics, turn=turn)]
    with_args = [c for c in expect.calls if c.args]
    if with_args:
        matched = [c for c in with_args if any(_args_ok(c, s) for s in _candidates(c, trace))]
        misses = [_arg_miss(c, trace) for c in with_args if c not in matched]
        acc = len(matched) / len(with_args)
        scores.append(
            Score(
                name="args", passed=len(matched) == len(with_args), value=acc, detail="; ".join(misses), turn=turn,
                metrics={"arg_accuracy": acc, "args_expected": len(with_args), "args_matched": len(matched)},
            )
        )  # fmt: skip
    return scores


def _arg_miss(exp: ToolCallExpect, trace: Sequence[Mapping[str, Any]]) -> str:
    cands = _candidates(exp, trace)
    where = f"{exp.tool}" + (f"[nth={exp.nth}]" if exp.nth is not None else "")
    if not cands:
        return f"{where}: not called"
    args = cands[0].get("args") or {}
    bad = [k for k, v in exp.args.items() if not match_arg(v, k in args, args.get(k))]
    return f"{where}: {', '.join(f'{k}={args.get(k)!r}' for k in bad)} do not match"


def score_instruction(trace: Sequence[Mapping[str, Any]], turn: int = 0) -> Score | None:
    """Share of calls that ran as written (no unknown tool, no invalid arguments); None without calls."""
    if not trace:
        return None
    valid = [s for s in trace if s.get("error_type") not in INVALID_CALL_ERRORS]
    bad = [f"{s.get('tool')}: {s.get('error_type')}" for s in trace if s not in valid]
    value = len(valid) / len(trace)
    return Score(name="instruction", value=value, detail="; ".join(bad), metrics={"valid_calls": value}, turn=turn)


def score_status(accepted: Sequence[str], answer: Mapping[str, Any], turn: int = 0) -> Score:
    """The answer's status is one of the accepted ones."""
    status = str(answer.get("status"))
    ok = status in accepted
    detail = "" if ok else f"status {status!r}, expected {' or '.join(accepted)}"
    return Score(name="status", passed=ok, value=float(ok), detail=detail, turn=turn)


def convert(value: float, unit: str, to_unit: str | None) -> float | None:
    """``value`` in ``unit`` expressed in ``to_unit`` (None when the units are unknown or incompatible)."""
    if to_unit is None or fold(unit).strip() == fold(to_unit).strip():
        return value
    a, b = _UNITS.get(unit.strip().lower()), _UNITS.get(to_unit.strip().lower())
    if a is None or b is None or a[0] != b[0]:
        return None
    return value * a[1] / b[1]


def score_number(expect: NumericExpect, answer: Mapping[str, Any], turn: int = 0) -> Score:
    """A figure of the answer equals the expected value within tolerance (after unit conversion)."""
    figures = [
        f
        for f in answer.get("figures", [])
        if re.search(expect.figure, str(f.get("name", "")), re.IGNORECASE)
        and (not expect.tool or f["tool"] == expect.tool)
    ]
    name = f"answer:{expect.figure}"
    if not figures:
        return Score(name=name, passed=False, detail=f"no figure matching {expect.figure!r}", turn=turn)
    # A pattern may also match figures in other dimensions ("area" in "changed_pct_of_valid_area"): prefer ones
    # whose unit converts to the expected one.
    usable = [f for f in figures if convert(1.0, str(f.get("unit", "")), expect.unit) is not None] or figures
    fig = usable[-1] if expect.pick == "last" else usable[0]
    value = convert(float(fig["value"]), str(fig.get("unit", "")), expect.unit)
    if value is None:
        detail = f"unit {fig.get('unit')!r} not convertible to {expect.unit!r}"
        return Score(name=name, passed=False, detail=detail, turn=turn)
    tol = max(expect.abs_tol, expect.rel_tol * abs(expect.value), 1e-9)
    error = value - expect.value
    ok = abs(error) <= tol
    rel = error / expect.value if expect.value else None
    detail = "" if ok else f"{fig['name']} = {value:g} {expect.unit or ''}, expected {expect.value:g} ± {tol:g}"
    return Score(
        name=name, passed=ok, value=value, detail=detail.strip(), turn=turn,
        metrics={"abs_error": abs(error), "rel_error": rel},
    )  # fmt: skip


def _words(text: str) -> str:
    return " " + re.sub(r"[^\w%]+", " ", fold(text)) + " "


def score_choice(expect: ChoiceExpect, answer: Mapping[str, Any], turn: int = 0) -> Score:
    """The text names one of the accepted answers (whole words) and none of the rejected ones."""
    words = _words(str(answer.get("text", "")))
    hit = [c for c in expect.any_of if _words(c) in words]
    wrong = [c for c in expect.none_of if _words(c) in words]
    ok = bool(hit) and not wrong
    detail = "" if ok else (f"names {wrong}" if wrong else f"names none of {expect.any_of}")
    return Score(name="choice", passed=ok, value=float(ok), detail=detail, turn=turn)


def score_text(expect: TextExpect, answer: Mapping[str, Any], turn: int = 0) -> Score:
    """Required substrings present, forbidden ones absent (case- and accent-insensitive)."""
    text = fold(str(answer.get("text", "")))
    missing = [t for t in expect.must_contain if fold(t) not in text]
    present = [t for t in expect.must_not_contain if fold(t) in text]
    ok = not missing and not present
    parts = ([f"missing {missing}"] if missing else []) + ([f"contains {present}"] if present else [])
    return Score(name="text", passed=ok, value=float(ok), detail="; ".join(parts), turn=turn)


def score_provenance(answer: Mapping[str, Any], required: bool, turn: int = 0) -> Score:
    """Share of numeric claims (figures of analysis tools) that name their scenes and every scene's date."""
    claims = [f for f in answer.get("figures", []) if f.get("tool") not in CONTEXT_TOOLS]
    complete = [f for f in claims if f.get("item_ids") and all(f.get("dates") or [None])]
    share = len(complete) / len(claims) if claims else None
    ok = share is None or share == 1.0
    detail = "" if ok else f"{len(claims) - len(complete)} of {len(claims)} claims lack scene ids or dates"
    return Score(
        name="provenance", passed=ok if required else None, value=share, detail=detail, turn=turn,
        metrics={"claims": float(len(claims)), "complete_claims": float(len(complete))},
    )  # fmt: skip


DECLINED = frozenset({"abstain", "clarify"})


def score_decline(expect: Expect, answer: Mapping[str, Any], turn: int = 0) -> Score | None:
    """Whether the agent declined (abstained or asked back) and whether it should have (for precision/recall).

    Expected to decline: every accepted status is abstain/clarify. Expected to answer: ``answered`` is the
    accepted status, or, without a status expectation, the case expects a number, a choice or a task result.
    None when the expectation says neither.
    """
    statuses = set(expect.statuses())
    if statuses:
        expected = 1.0 if statuses <= DECLINED else 0.0 if not statuses & DECLINED else None
    else:
        expected = 0.0 if (expect.numbers() or expect.choice or expect.truth) else None
    if expected is None:
        return None
    predicted = float(answer.get("status") in DECLINED)
    return Score(name="decline", value=predicted, metrics={"expected": expected, "predicted": predicted}, turn=turn)


def score_answer(expect: Expect, answer: Mapping[str, Any], *, latency_s: float, turn: int = 0) -> list[Score]:
    """Every non-truth check of one turn (truth needs data: :func:`geovigie.evals.truth.score_truth`)."""
    trace = list(answer.get("trace", []))
    scores: list[Score] = []
    if expect.statuses():
        scores.append(score_status(expect.statuses(), answer, turn))
    decline = score_decline(expect, answer, turn)
    if decline is not None:
        scores.append(decline)
    if expect.tools is not None:
        scores.extend(score_tools(expect.tools, trace, turn))
    instruction = score_instruction(trace, turn)
    if instruction is not None:
        scores.append(instruction)
    scores.extend(score_number(n, answer, turn) for n in expect.numbers())
    if expect.choice is not None:
        scores.append(score_choice(expect.choice, answer, turn))
    if expect.text is not None:
        scores.append(score_text(expect.text, answer, turn))
    scores.append(score_provenance(answer, expect.provenance, turn))
    if expect.max_latency_s is not None:
        ok = latency_s <= expect.max_latency_s
        detail = "" if ok else f"{latency_s:.1f} s > {expect.max_latency_s:g} s"
        scores.append(Score(name="latency", passed=ok, value=latency_s, detail=detail, turn=turn))
    return scores
