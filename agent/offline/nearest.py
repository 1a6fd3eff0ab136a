"""Nearest available date: when one side of a comparison has no image, the closest date the catalog holds.

"et à Rennes ?" carried the dates 2016 vs 2017 from the previous question; Rennes has images on 2015-08-21 and
2017-06-21 only. Giving up would be unhelpful: the comparison runs on the nearest date on the empty side (never
crossing the other side's window, so that before stays before) and the answer says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from geovigie.agent.offline.periods import Period


def item_day(item: Mapping[str, Any]) -> date | None:
    """The acquisition day of a search result item, if it has one."""
    try:
        return date.fromisoformat(str(item.get("datetime") or "")[:10])
    except ValueError:
        return None


def distance(day: date, period: Period) -> int:
    """Days from ``day`` to the closest end of ``period`` (0 inside it)."""
    if period.start <= day <= period.end:
        return 0
    return min(abs((day - period.start).days), abs((day - period.end).days))


def nearest_items(
    items: Sequence[dict[str, Any]], period: Period, other: Period | None, *, side: str
) -> tuple[list[dict[str, Any]], date | None]:
    """The items of the date nearest to ``period`` on ``side`` ("before"/"after") of ``other``, and that date."""
    dated = [(i, d) for i in items if (d := item_day(i)) is not None]
    if side == "before" and dated:
        # the before side leaves a later date for the after side: "2017 vs 2019" on a catalog of 2016-01-20 and
        # 2018-03-28 compares those two, not 2018-03-28 with nothing
        latest = max(d for _, d in dated)
        dated = [(i, d) for i, d in dated if d < latest]
    if other is not None:
        dated = [(i, d) for i, d in dated if (d < other.start if side == "before" else d > other.end)]
    if not dated:
        return [], None
    best = min(dated, key=lambda pair: distance(pair[1], period))[1]
    return [i for i, d in dated if d == best], best
