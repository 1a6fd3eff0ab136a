"""Dates and periods in French and English questions, resolved against a given ``today``.

Pure and deterministic: :func:`parse_dates` never reads the clock. Conventions (the planner relies on them):

* a year, month, season or day is a closed period (``"in 2019"`` = 2019-01-01..2019-12-31; seasons are
  meteorological: spring Mar-May, summer Jun-Aug, autumn Sep-Nov, winter Dec-Feb, named by its December year);
* ``"last summer"`` / ``"l'été dernier"`` is the latest summer that has *ended* before ``today``;
  ``"last year"``/``"last month"`` are the previous calendar year/month; ``"this year"`` runs to ``today``;
  ``"last week"`` and ``"in the last N days|weeks|months|years"`` end on ``today``;
* two dates joined by ``vs``, ``→``, ``between … and …``, ``from … to …`` or ``in … and in …`` give a
  comparison: ``before``/``after`` are the two endpoints (when they are months, seasons or years) and
  ``period`` spans both. A range between two *days* is one period with no endpoints (the planner then picks the
  earliest and latest usable scenes inside it);
* ``"since X"`` / ``"depuis X"``: ``before`` = X, ``after`` = the 365 days ending ``today``
  (:data:`RECENT_DAYS`), ``period`` = X.start..today;
* ``"18/09/2019"`` is day-first; a month without a year inside a range takes the other end's year;
* a period starting after ``today`` is flagged ``future`` (no imagery can exist yet); one that straddles
  ``today`` is cut at ``today`` (``clamped``); an inverted range is swapped (``inverted``);
* ``"before/after the storm"`` with no date is flagged ``unknown_event`` (the planner must ask when).

The parser works on a case- and accent-folded copy of the text of the same length, so the spans it reports
index the original question (the caller blanks them before looking for place names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from geovigie.agent.offline.periods import Atom, Period, Unit, find_atoms, fold, month_period

RECENT_DAYS = 365
"""Length of the "now" window compared against in ``since X`` questions."""

DateKind = Literal["none", "latest", "single", "range", "compare", "since", "relative"]


@dataclass(frozen=True)
class DateInfo:
    """What a question says about time."""

    kind: DateKind = "none"
    period: Period | None = None
    """The whole time span asked about (also set for comparisons)."""
    before: Period | None = None
    after: Period | None = None
    unit: Unit | None = None
    """Granularity of a single date (day, month, season, year) or ``span`` for ranges and windows."""
    flags: frozenset[str] = frozenset()
    """``future``, ``clamped``, ``inverted``, ``unknown_event``."""
    spans: tuple[tuple[int, int], ...] = ()
    """Character spans of the date expressions in the question."""
    event: str | None = None
    """The undated event named ("the storm"), when ``unknown_event`` is set."""

    @property
    def is_future(self) -> bool:
        """True when the asked imagery cannot exist yet."""
        return "future" in self.flags


_COMPARE_GAP = re.compile(
    r"^\s*(?:,\s*)?(?:vs\.?|versus|→|->|=>|compared (?:to|with)|par rapport a|contre|with|avec)\s*(?:the |l'|le )?$"
)
_RANGE_GAP = re.compile(r"^\s*(?:to|and|a|au|et|until|till|jusqu'a|jusqu'en|-|–|—)\s*(?:in |en |le |the |l')?$")
_AND_GAP = re.compile(r"^\s*(?:,\s*)?(?:and|et)\s*(?:in |en |the |le |a |au |a l'|l'|in the |du |de |d'|des |of )*$")
_RANGE_OPENER = re.compile(r"\b(?:between|entre|from|de|du|des|starting)\s*(?:the |le |l')?$")
_SINCE_OPENER = re.compile(
    r"(?:\b(?:since|depuis|compared (?:to|with)|than in|than|par rapport a|par rapport au|comparee? a)|\bqu'en|"
    r"\bque en)\s*(?:the |le |l'|la |in |en )?$"
)
"""Openers of a single date compared with now: "since 2016", "compared to 2018", "plus verte qu'en 2015"."""
_COMPARE_TAIL = re.compile(
    r"(?:/|\b(?:then|puis|ensuite|vs\.?|versus|compare[sd]?|comparee?s?|compared (?:to|with)|against|contre|"
    r"avec|with)\b)\s*(?:a |au |to |the |l'|le |la |en |in |et |and |celle de |that of |one )*$"
)
"""A gap that ends on a comparison word: "2010 and then 2023", "2011 / 2024", "sous l'eau ? compare avec"."""
_SHORT_GAP = re.compile(r"^[\s,;]*(?:[^\W\d_][\w']*[\s,;]+){0,2}$")
"""At most two words between two dates of the same kind: "2014 puis en 2024", "2012 comparé à 2024"."""
_LATEST = re.compile(
    r"\b(today|now|right now|currently|at present|latest|most recent|newest|aujourd'hui|maintenant|"
    r"actuellement|en ce moment|derniere image|dernieres images|plus recente?s?)\b"
)
_EVENT = re.compile(
    r"\b(?:before|after|avant|apres)(?: and after| et apres| / apres| et avant)? "
    r"(the|la|le|l'|les)\s*(storm|fire|flood|floods|hurricane|earthquake|event|disaster|cyclone|tempete|incendie|"
    r"feu|inondation|inondations|crue|crues|seisme|ouragan|evenement|catastrophe)\b"
)


def _fix_month_only(first: Atom, second: Atom) -> Atom:
    """Give a year-less first month the second end's year (December before February: the year before)."""
    if first.month_only is None:
        return first
    year = second.period.start.year
    if first.month_only > second.period.start.month:
        year -= 1
    return replace(first, period=month_period(year, first.month_only), month_only=None)


def _pair(first: Atom, second: Atom, kind: DateKind, flags: set[str]) -> DateInfo:
    first = _fix_month_only(first, second)
    if first.period.start > second.period.start:
        first, second = second, first
        flags.add("inverted")
    span = Period(first.period.start, second.period.end)
    endpoints = kind == "compare" or (first.unit != "day" and second.unit != "day")
    return DateInfo(
        kind="compare" if endpoints else "range",
        period=span,
        before=first.period if endpoints else None,
        after=second.period if endpoints else None,
        unit="span",
        flags=frozenset(flags),
        spans=((first.start, first.end), (second.start, second.end)),
    )


def _combine(text: str, atoms: list[Atom], today: date) -> DateInfo:
    first = atoms[0]
    opener = text[max(0, first.start - 14) : first.start]
    if len(atoms) >= 2:
        gap = text[first.end : atoms[1].start]
        if _COMPARE_GAP.match(gap):
            return _pair(first, atoms[1], "compare", set())
        years = first.unit == atoms[1].unit == "year" and not _AND_GAP.match(gap)  # "abu dhabi 2016 to 2018"
        if _RANGE_GAP.match(gap) and (_RANGE_OPENER.search(opener) or gap.strip() in {"-", "–", "—"} or years):
            return _pair(first, atoms[1], "range", set())
        if _AND_GAP.match(gap):
            return _pair(first, atoms[1], "compare", set())
        if not gap.strip() and first.unit == atoms[1].unit == "year":  # "sprawl Ouagadougou 2016 2024"
            return _pair(first, atoms[1], "compare", set())
        if _COMPARE_TAIL.search(gap) or (
            first.unit == atoms[1].unit and first.unit in ("year", "month", "season") and _SHORT_GAP.match(gap)
        ):
            return _pair(first, atoms[1], "compare", set())
    span = ((first.start, first.end),)
    if _SINCE_OPENER.search(opener) and first.unit != "span":
        recent = Period(today - timedelta(days=RECENT_DAYS), today)
        return DateInfo(
            kind="since",
            period=Period(first.period.start, today),
            before=first.period,
            after=recent,
            unit="span",
            spans=span,
        )
    kind: DateKind = "relative" if first.unit == "span" else "single"
    return DateInfo(kind=kind, period=first.period, unit=first.unit, spans=span)


def _check_time(info: DateInfo, today: date) -> DateInfo:
    """Flag periods in the future and cut those that straddle today."""
    flags = set(info.flags)

    def cut(period: Period | None) -> Period | None:
        if period is None:
            return None
        if period.start > today:
            flags.add("future")
            return period
        if period.end > today:
            flags.add("clamped")
            return Period(period.start, today)
        return period

    period, before, after = cut(info.period), cut(info.before), cut(info.after)
    return replace(info, period=period, before=before, after=after, flags=frozenset(flags))


def parse_dates(text: str, *, today: date) -> DateInfo:
    """Read the dates and periods of a question.

    Args:
        text: The question (French or English); item ids and file names should be blanked first.
        today: The reference date for relative expressions ("last summer", "since 2016").

    Returns:
        A :class:`DateInfo`; ``kind == "none"`` when the question gives no date.

    Examples:
        >>> parse_dates("floods in Nantes, 2018 vs 2019", today=date(2025, 6, 15)).before
        Period(start=datetime.date(2018, 1, 1), end=datetime.date(2018, 12, 31))
    """
    folded = fold(text).replace("’", "'")
    atoms = find_atoms(folded, today)
    if atoms:
        return _check_time(_combine(folded, atoms, today), today)
    if event := _EVENT.search(folded):
        return DateInfo(flags=frozenset({"unknown_event"}), event=text[event.start() : event.end()])
    if latest := _LATEST.search(folded):
        return DateInfo(kind="latest", spans=((latest.start(), latest.end()),))
    return DateInfo()


def event_window(period: Period, *, days_before: int = 60) -> Period:
    """The reference window before a dated event (flood, fire): ``days_before`` days ending the day before."""
    return Period(period.start - timedelta(days=days_before), period.start - timedelta(days=1))


__all__ = ["RECENT_DAYS", "DateInfo", "DateKind", "Period", "event_window", "fold", "parse_dates"]
