"""Choosing scenes among search results: usable ones first, then by a declared policy.

A scene is usable when it covers enough of the area (``coverage`` >= :data:`MIN_COVERAGE`), its cloud cover is
within the limit and, for object counts, its pixel size is fine enough. When none is usable, the reason is
reported in the order a user can act on: nothing found, then too cloudy, then too coarse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MIN_INSIDE = 0.5
"""A scene mostly inside the area (a small chip in a large "near X" area) is usable however little it covers."""

MIN_COVERAGE = 0.1
"""Smallest fraction of the area a scene must cover to be used. Kept low: sample chips and scene edges often cover
part of a city's box, and the analysis tools work on the overlap (the planner notes partial coverage)."""

Policy = Literal["latest", "earliest", "clearest"]
Problem = Literal["no_data", "partial", "too_cloudy", "too_coarse", "one_date", "incompatible"]

MIN_SHARED_BANDS = 2
"""Bands two scenes must share to be compared (radar VV/VH and optical scenes share none)."""


@dataclass(frozen=True)
class Choice:
    """Chosen scenes, or why there are none."""

    items: tuple[dict[str, Any], ...] = ()
    problem: Problem | None = None
    detail: dict[str, float] = field(default_factory=dict)
    """Numbers for the message: ``n`` scenes found, ``gsd`` of the finest one."""


def _num(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    return float(value) if isinstance(value, int | float) else None


def normalise(item: Mapping[str, Any]) -> dict[str, Any]:
    """A search result item with canonical keys.

    Keys: ``id``, ``datetime``, ``gsd`` (m), ``cloud_cover`` (%), ``coverage`` (fraction); ``search_imagery``'s
    own names (``item_id``, ``gsd_m``, ``coverage_pct``) are accepted.
    """
    out = dict(item)
    out.setdefault("id", item.get("item_id"))
    if out.get("gsd") is None:
        out["gsd"] = item.get("gsd_m")
    if out.get("coverage") is None and _num(item, "coverage_pct") is not None:
        out["coverage"] = float(item["coverage_pct"]) / 100
    if out.get("inside") is None and _num(item, "inside_pct") is not None:
        out["inside"] = float(item["inside_pct"]) / 100
    return out


def coverage(item: Mapping[str, Any]) -> float:
    """Fraction of the area a (normalised) scene covers; 1 when unknown."""
    return _coverage(item)


def _coverage(item: Mapping[str, Any]) -> float:
    value = _num(item, "coverage")
    if value is None:
        return 1.0
    return value / 100 if value > 1 else value


def _date(item: Mapping[str, Any]) -> str:
    return str(item.get("datetime") or "")


def usable(
    items: Sequence[Mapping[str, Any]], *, max_cloud: float | None, max_gsd: float | None
) -> tuple[list[dict[str, Any]], Problem | None, dict[str, float]]:
    """Filter scenes; when none is left, say which filter removed the last ones."""
    found = [n for n in (normalise(i) for i in items) if n.get("id")]
    detail: dict[str, float] = {"n": float(len(found))}
    if not found:
        return [], "no_data", detail
    covering = [i for i in found if _coverage(i) >= MIN_COVERAGE or (_num(i, "inside") or 0.0) >= MIN_INSIDE]
    if not covering:
        detail["coverage"] = max(_coverage(i) for i in found)
        return [], "partial", detail
    clear = [i for i in covering if max_cloud is None or (_num(i, "cloud_cover") or 0.0) <= max_cloud]
    if not clear:
        return [], "too_cloudy", detail
    fine = [i for i in clear if max_gsd is None or (_num(i, "gsd") or 0.0) <= max_gsd]
    if not fine:
        detail["gsd"] = min(_num(i, "gsd") or 0.0 for i in clear)
        return [], "too_coarse", detail
    return fine, None, detail


def _order(items: list[dict[str, Any]], policy: Policy) -> list[dict[str, Any]]:
    def cloud(i: dict[str, Any]) -> float:
        return _num(i, "cloud_cover") or 0.0

    if policy == "latest":
        return sorted(items, key=lambda i: (_date(i), -cloud(i)), reverse=True)
    if policy == "earliest":
        return sorted(items, key=lambda i: (_date(i), cloud(i)))
    # clearest: least cloud, then most coverage, then the latest date
    return sorted(items, key=lambda i: (cloud(i), -_coverage(i), tuple(-ord(c) for c in _date(i))))


def choose(
    items: Sequence[Mapping[str, Any]], *, policy: Policy, max_cloud: float | None, max_gsd: float | None
) -> Choice:
    """One scene by ``policy`` among the usable ones."""
    ok, problem, detail = usable(items, max_cloud=max_cloud, max_gsd=max_gsd)
    if problem:
        return Choice(problem=problem, detail=detail)
    return Choice(items=(_order(ok, policy)[0],), detail=detail)


def compatible(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two scenes can be compared: enough common bands, or the same collection when bands are unknown."""
    bands_a, bands_b = set(a.get("bands") or ()), set(b.get("bands") or ())
    if bands_a and bands_b:
        return len(bands_a & bands_b) >= MIN_SHARED_BANDS
    coll_a, coll_b = a.get("collection"), b.get("collection")
    return not (coll_a and coll_b) or coll_a == coll_b


def choose_pair(items: Sequence[Mapping[str, Any]], *, max_cloud: float | None, max_gsd: float | None) -> Choice:
    """The earliest and the latest usable scenes that can be compared, on different days."""
    ok, problem, detail = usable(items, max_cloud=max_cloud, max_gsd=max_gsd)
    if problem:
        return Choice(problem=problem, detail=detail)
    latest = _order(ok, "latest")
    for first in _order(ok, "earliest"):
        for last in latest:
            if _date(last)[:10] > _date(first)[:10] and compatible(first, last):
                return Choice(items=(first, last), detail=detail)
    days = {_date(i)[:10] for i in ok}
    return Choice(problem="one_date" if len(days) < 2 else "incompatible", detail=detail)


def choose_across(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    *,
    policies: tuple[Policy, Policy],
    max_cloud: float | None,
    max_gsd: float | None,
) -> Choice:
    """One scene from each window, by each window's policy, that can be compared with each other.

    ``detail["side"]`` is 0 or 1 when the problem lies in the first or second window.
    """
    ok_before, problem, detail = usable(before, max_cloud=max_cloud, max_gsd=max_gsd)
    if problem:
        return Choice(problem=problem, detail={**detail, "side": 0.0})
    ok_after, problem, detail = usable(after, max_cloud=max_cloud, max_gsd=max_gsd)
    if problem:
        return Choice(problem=problem, detail={**detail, "side": 1.0})
    after_ranked = _order(ok_after, policies[1])
    for first in _order(ok_before, policies[0]):
        for second in after_ranked:
            if first["id"] != second["id"] and compatible(first, second):
                return Choice(items=(first, second), detail=detail)
    return Choice(problem="incompatible", detail=detail)
