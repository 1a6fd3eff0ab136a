"""The dates of catalog images and the dates a question gives them, for entity linking.

An id spells its date (``oscd-rennes-2015-08-21``, ``..._20150820``) or only a year; a question may name a period,
or a day and month without a year ("the 9 sept scene", "l'image de décembre").
"""

from __future__ import annotations

import re
from datetime import date

from geovigie.agent.offline.dates import DateInfo
from geovigie.agent.offline.periods import MONTH_PATTERN, MONTHS, Period


def item_date(item: str) -> date | None:
    """The date an id spells (``oscd-rennes-2015-08-21``, ``..._20150820``), or mid-year of the year it names."""
    if m := re.search(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)", item):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if m := re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", item):
        return date(int(m[1]), 7, 1)
    return None


def periods_of(dates: DateInfo) -> list[Period]:
    """The periods a question names: its two compared windows, or its one window, or none."""
    return [p for p in (dates.before, dates.after) if p] or ([dates.period] if dates.period else [])


def in_period(day: date | None, period: Period, year_only: bool, *, yearless: bool = False) -> bool:
    """Whether an image's day falls in a period (by year only for ids that spell no more; ``yearless``: by day).

    Args:
        day: The image's day, or None when unknown.
        period: The period the question names.
        year_only: Compare years only (an id that spells only its year).
        yearless: The question named a day or month without a year: compare those only.
    """
    if day is None:
        return False
    if yearless:  # "the 9 sept scene", "l'image de décembre": the day or month of any year
        if period.start == period.end:
            return (day.month, day.day) == (period.start.month, period.start.day)
        return period.start.month == period.end.month and day.month == period.start.month
    return period.start.year <= day.year <= period.end.year if year_only else period.start <= day <= period.end


_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:er|st|nd|rd|th)?\s+("
    + MONTH_PATTERN
    + r")(?!\s*\d)|\b("
    + MONTH_PATTERN
    + r")\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*,?\s*\d)"
)
_BARE_MONTH = re.compile(r"\b(" + MONTH_PATTERN + r")\b(?!\s*\d)")
_AMBIGUOUS_MONTHS = frozenset({"may", "mai", "sept", "mar", "jun", "jul", "dec"})
"""Month words that are also common words ("may", "sept" = 7): taken alone only beside a day number."""


def yearless_days(folded: str) -> tuple[list[tuple[int, int | None]], list[tuple[int, int]]]:
    """Days and months named without a year ("9 sept", "31 juillet", "the december patch") and their spans.

    Returns:
        ((month, day or None) pairs, character spans).
    """
    found: list[tuple[int, int | None]] = []
    spans: list[tuple[int, int]] = []
    for m in _DAY_MONTH.finditer(folded):
        day, month = (m[1], m[2]) if m[1] else (m[4], m[3])
        if 1 <= int(day) <= 31:
            found.append((MONTHS[month.rstrip(".")], int(day)))
            spans.append(m.span())
    for m in _BARE_MONTH.finditer(folded):
        if m[1].rstrip(".") not in _AMBIGUOUS_MONTHS and all(m.end() <= a or m.start() >= b for a, b in spans):
            found.append((MONTHS[m[1].rstrip(".")], None))
            spans.append(m.span())
    return found, spans
