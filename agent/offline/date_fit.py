"""Dates fitted to what is asked: "2019 to 2025" compares two years for a change, spans them for a listing.

The date parser reads the words alone; the same words mean one window for "images of Lake Titicaca 2020-2022"
and two windows for "is the forest still being cleared? 2019 to 2025" (the sets' convention, BLIND5.md §3).
"""

from __future__ import annotations

import dataclasses
from datetime import date

from geovigie.agent.offline.dates import DateInfo
from geovigie.agent.offline.periods import Period


def _whole_years(p: Period) -> bool:
    return (p.start.month, p.start.day, p.end.month, p.end.day) == (1, 1, 12, 31)


def fit_dates(dates: DateInfo, *, listing: bool, change: bool) -> DateInfo:
    """``dates`` as one window for a listing, or as two year windows for a change over whole years."""
    if listing and dates.kind == "compare" and dates.period is not None and dates.unit in ("year", "span"):
        if dates.before and dates.after and _whole_years(dates.before) and _whole_years(dates.after):
            return dataclasses.replace(dates, kind="range", before=None, after=None, unit="span")
    if change and dates.kind == "range" and dates.period is not None and _whole_years(dates.period):
        start, end = dates.period.start.year, dates.period.end.year
        if end > start:
            before = Period(date(start, 1, 1), date(start, 12, 31))
            after = Period(date(end, 1, 1), date(end, 12, 31))
            return dataclasses.replace(dates, kind="compare", before=before, after=after, unit="span")
    return dates
