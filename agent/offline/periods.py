"""Date expressions of French and English text, as closed periods (the building blocks of ``dates``).

:func:`find_atoms` lists every date expression of a folded question (day, month, season, year, relative
expression such as "last summer" or "ces 6 derniers mois") with its character span and its period, resolved
against ``today``. Combining them (ranges, comparisons, "since") is :mod:`geovigie.agent.offline.dates`' job.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

Unit = Literal["day", "month", "season", "year", "span"]


@dataclass(frozen=True)
class Period:
    """A closed date interval."""

    start: date
    end: date

    @property
    def days(self) -> int:
        """Number of days covered (both ends included)."""
        return (self.end - self.start).days + 1

    def iso(self) -> tuple[str, str]:
        """(start, end) as ``YYYY-MM-DD`` strings."""
        return self.start.isoformat(), self.end.isoformat()


@dataclass(frozen=True)
class Atom:
    """One date expression: its character span in the text, its period and its granularity."""

    start: int
    end: int
    period: Period
    unit: Unit
    month_only: int | None = None
    """Month number when no year was written ("from March to May 2023"): the year is fixed later."""


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping one character per input character (spans stay valid)."""
    out = []
    for char in text:
        lower = char.lower()[:1] or char
        decomposed = unicodedata.normalize("NFKD", lower)
        out.append(decomposed[0] if decomposed and decomposed[0].isascii() else lower)
    return "".join(out)


_MONTHS: dict[str, int] = {}
for _num, _names in enumerate(
    (
        "january jan janvier janv",
        "february feb fevrier fev fevr",
        "march mar mars",
        "april apr avril avr",
        "may mai",
        "june jun juin",
        "july jul juillet juil",
        "august aug aout",
        "september sep sept septembre",
        "october oct octobre",
        "november nov novembre",
        "december dec decembre",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _num
_FULL_MONTHS = frozenset(
    "january february march april may june july august september october november december janvier fevrier mars "
    "avril mai juin juillet aout septembre octobre novembre decembre".split()
)
_NAME_AFTER = re.compile(r"\s+(?!(?:last|this|next|of|de|d'|dernier|derniere|prochain|passe|ago)\b)[a-z]")
"""Month names written whole; an abbreviation ("mar", "jun") alone before a word is more often a name."""
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
MONTHS = _MONTHS
"""Month number by folded English/French name and abbreviation."""
MONTH_PATTERN = _MONTH
_SEASONS = {
    "spring": 3, "printemps": 3, "summer": 6, "ete": 6, "autumn": 9, "fall": 9, "automne": 9,
    "winter": 12, "hiver": 12, "monsoon": 6, "mousson": 6,
}  # fmt: skip
# the South Asian monsoon is read as June-August: its three wettest months, an approximation for other monsoons
_SEASON = r"(?:" + "|".join(_SEASONS) + r")"
_YEAR = r"(?:1[89]\d\d|20\d\d)"
"""Years 1800-2099: older ones are still read (and get an honest "no imagery that old"), not dropped."""
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "twelve": 12, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "douze": 12,
}  # fmt: skip
_COUNT = r"(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"
_UNITS = {
    "day": "days", "days": "days", "jour": "days", "jours": "days", "week": "weeks", "weeks": "weeks",
    "semaine": "weeks", "semaines": "weeks", "month": "months", "months": "months", "mois": "months",
    "year": "years", "years": "years", "an": "years", "ans": "years", "annee": "years", "annees": "years",
    "yr": "years", "yrs": "years", "mo": "months", "mos": "months", "wk": "weeks", "wks": "weeks",
}  # fmt: skip
_UNIT = r"(days?|jours?|weeks?|wks?|semaines?|months?|mos?|mois|years?|yrs?|ans|annees?)"


def month_period(year: int, month: int) -> Period:
    """The calendar month as a period."""
    start = date(year, month, 1)
    return Period(start, start + relativedelta(months=1) - timedelta(days=1))


def _season_period(year: int, first_month: int) -> Period:
    start = date(year, first_month, 1)
    return Period(start, start + relativedelta(months=3) - timedelta(days=1))


def _year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31))


def _safe_day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _last_completed_season(first_month: int, today: date) -> Period:
    year = today.year
    while True:
        period = _season_period(year, first_month)
        if period.end < today:
            return period
        year -= 1


def _relative_window(count: int, unit: str, today: date) -> Period:
    kind = _UNITS[unit]
    if kind == "days":
        return Period(today - timedelta(days=count), today)
    if kind == "weeks":
        return Period(today - timedelta(weeks=count), today)
    if kind == "months":
        return Period(today - relativedelta(months=count), today)
    return Period(today - relativedelta(years=count), today)


# Each pattern yields an atom; earlier patterns win over overlapping later ones.
_DAY_PATTERNS: list[tuple[str, str]] = [
    ("iso", r"\b(\d{4})-(\d{2})-(\d{2})\b"),
    ("ymd", r"\b(\d{4})/(\d{1,2})/(\d{1,2})\b"),
    ("dmy", r"\b(\d{1,2})[/.](\d{1,2})[/.](\d{4})\b"),
    ("d_month_y", r"\b(\d{1,2})(?:er|st|nd|rd|th)?\s+(" + _MONTH + r")\s+(" + _YEAR + r")\b"),
    ("month_d_y", r"\b(" + _MONTH + r")\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(" + _YEAR + r")\b"),
]


def _day_atom(kind: str, m: re.Match[str]) -> Atom | None:
    g = m.groups()
    if kind == "iso" or kind == "ymd":
        day = _safe_day(int(g[0]), int(g[1]), int(g[2]))
    elif kind == "dmy":
        day = _safe_day(int(g[2]), int(g[1]), int(g[0]))
    elif kind == "d_month_y":
        day = _safe_day(int(g[2]), _MONTHS[g[1].rstrip(".")], int(g[0]))
    else:
        day = _safe_day(int(g[2]), _MONTHS[g[0].rstrip(".")], int(g[1]))
    return Atom(m.start(), m.end(), Period(day, day), "day") if day else None


_RELATIVE_FIXED: list[tuple[str, str]] = [
    ("yesterday", r"\b(yesterday|hier)\b"),
    ("tomorrow", r"\b(tomorrow|demain)\b"),
    ("last_week", r"\b(last week|past week|la semaine derniere|la semaine passee)\b"),
    ("next_week", r"\b(next week|la semaine prochaine)\b"),
    ("last_month", r"\b(last month|le mois dernier|le mois passe)\b"),
    ("this_month", r"\b(this month|ce mois-ci|ce mois ci)\b"),
    ("next_month", r"\b(next month|le mois prochain)\b"),
    ("last_year", r"\b(last year|l'annee derniere|l'an dernier|l'annee passee|l'an passe)\b"),
    ("this_year", r"\b(this year|cette annee)\b"),
    ("next_year", r"\b(next year|l'annee prochaine|l'an prochain)\b"),
]


def _fixed_relative(kind: str, today: date) -> tuple[Period, Unit]:
    first_of_month = today.replace(day=1)
    table: dict[str, tuple[Period, Unit]] = {
        "yesterday": (Period(today - timedelta(days=1), today - timedelta(days=1)), "day"),
        "tomorrow": (Period(today + timedelta(days=1), today + timedelta(days=1)), "day"),
        "last_week": (Period(today - timedelta(days=7), today), "span"),
        "next_week": (Period(today + timedelta(days=1), today + timedelta(days=7)), "span"),
        "last_month": (month_period((first_of_month - timedelta(days=1)).year,
                                     (first_of_month - timedelta(days=1)).month), "month"),
        "this_month": (Period(first_of_month, today), "month"),
        "next_month": (month_period((first_of_month + relativedelta(months=1)).year,
                                     (first_of_month + relativedelta(months=1)).month), "month"),
        "last_year": (_year_period(today.year - 1), "year"),
        "this_year": (Period(date(today.year, 1, 1), today), "year"),
        "next_year": (_year_period(today.year + 1), "year"),
    }  # fmt: skip
    return table[kind]


def _season_and_month_atoms(text: str, today: date) -> list[Atom]:
    """Seasons (last, this, of a year) and months of a year."""
    found: list[Atom] = []
    for m in re.finditer(r"\b(?:the |l')?(?:last|past|dernier|passe) (" + _SEASON + r")\b", text):
        found.append(Atom(m.start(), m.end(), _last_completed_season(_SEASONS[m.group(1)], today), "season"))
    for m in re.finditer(r"\b(?:l'|le |la )?(" + _SEASON + r") (?:dernier|passe)\b", text):
        found.append(Atom(m.start(), m.end(), _last_completed_season(_SEASONS[m.group(1)], today), "season"))
    for m in re.finditer(r"\b(?:the |l')?(?:next|coming|prochain|prochaine) (" + _SEASON + r")\b|\b(?:l'|le |la )?("
                         + _SEASON + r") (?:prochain|prochaine)\b", text):  # fmt: skip
        first = _SEASONS[m.group(1) or m.group(2)]
        season = _season_period(today.year, first)
        if season.start <= today:  # "next summer" in December is the summer of next year
            season = _season_period(today.year + 1, first)
        found.append(Atom(m.start(), m.end(), season, "season"))
    for m in re.finditer(r"\b(?:this|cet|cette) (" + _SEASON + r")\b", text):
        found.append(Atom(m.start(), m.end(), _season_period(today.year, _SEASONS[m.group(1)]), "season"))
    for m in re.finditer(r"\b(" + _SEASON + r")(?: of| de| d')? (" + _YEAR + r")\b", text):
        found.append(Atom(m.start(), m.end(), _season_period(int(m.group(2)), _SEASONS[m.group(1)]), "season"))
    for m in re.finditer(r"\b(" + _YEAR + r") (" + _SEASON + r")\b", text):  # "the 2022 monsoon"
        found.append(Atom(m.start(), m.end(), _season_period(int(m.group(1)), _SEASONS[m.group(2)]), "season"))
    for m in re.finditer(r"\b(" + _MONTH + r")(?: of| de)? (" + _YEAR + r")\b", text):
        period = month_period(int(m.group(2)), _MONTHS[m.group(1).rstrip(".")])
        found.append(Atom(m.start(), m.end(), period, "month"))
    found.extend(_relative_month_atoms(text, today))
    return found


_YEAR_SHIFT = {
    "last year": -1, "l'an dernier": -1, "l'annee derniere": -1, "l'an passe": -1, "l'annee passee": -1,
    "this year": 0, "cette annee": 0, "next year": 1, "l'an prochain": 1, "l'annee prochaine": 1,
}  # fmt: skip


def _relative_month_atoms(text: str, today: date) -> list[Atom]:
    """Months placed by a relative word: "last September", "septembre dernier", "in May last year", "mai prochain"."""
    found: list[Atom] = []
    shifts = "|".join(_YEAR_SHIFT)
    for m in re.finditer(
        r"\b(?:(?:the |l')?(?P<last>last|past) (?P<m1>" + _MONTH + r")|(?P<m2>" + _MONTH + r") (?P<last2>dernier|passe)"
        r"|(?:the |l')?(?P<next>next|coming) (?P<m3>" + _MONTH + r")|(?P<m4>" + _MONTH + r") (?P<next2>prochain)"
        r"|(?P<m5>" + _MONTH + r")(?: of| de)? (?P<shift>" + shifts + r"))\b",
        text,
    ):
        word = (m["m1"] or m["m2"] or m["m3"] or m["m4"] or m["m5"]).rstrip(".")
        month = _MONTHS[word]
        if m["shift"]:
            year = today.year + _YEAR_SHIFT[m["shift"]]
        elif m["last"] or m["last2"]:  # the latest completed one ("last December" in December is a year ago)
            year = today.year if month < today.month else today.year - 1
        else:
            year = today.year if month > today.month else today.year + 1
        found.append(Atom(m.start(), m.end(), month_period(year, month), "month"))
    return found


_DECADE = re.compile(r"\b(?:the )?(19[5-9]0|20[0-2]0)'?s\b|\bles annees (19[5-9]0|20[0-2]0)\b")
"""A decade: "the 1990s", "les années 1990"."""


def find_atoms(text: str, today: date) -> list[Atom]:
    """Every date expression in the folded text, non-overlapping, in text order."""
    atoms: list[Atom] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x.start or a >= x.end for x in atoms)

    def add(atom: Atom | None) -> None:
        if atom and free(atom.start, atom.end):
            atoms.append(atom)

    for kind, pattern in _DAY_PATTERNS:
        for m in re.finditer(pattern, text):
            add(_day_atom(kind, m))
    for atom in _season_and_month_atoms(text, today):
        add(atom)
    for kind, pattern in _RELATIVE_FIXED:
        for m in re.finditer(pattern, text):
            period, unit = _fixed_relative(kind, today)
            add(Atom(m.start(), m.end(), period, unit))
    window = (
        r"\b(?:(?:in|over|during|within) )?(?:the )?(?:last|past) " + _COUNT + r" " + _UNIT + r"\b"
        r"|\b(?:ces|les|durant les|pendant les|au cours des) " + _COUNT + r" (?:derni\w+|passe\w*) " + _UNIT + r"\b"
        r"|\bdepuis " + _COUNT + r" " + _UNIT + r"\b"
    )
    for m in re.finditer(window, text):
        groups = [g for g in m.groups() if g]
        count = int(groups[0]) if groups[0].isdigit() else _NUMBER_WORDS[groups[0]]
        add(Atom(m.start(), m.end(), _relative_window(count, groups[1], today), "span"))
    for m in re.finditer(
        r"\b(?:(?:in|over|during|within) )?(?:the )?(?:last|past) decade\b"
        r"|\b(?:la|cette) (?:derniere|passee) decennie\b|\b(?:la|cette) decennie (?:derniere|passee)\b",
        text,
    ):
        add(Atom(m.start(), m.end(), _relative_window(10, "years", today), "span"))  # "the past decade"
    for m in _DECADE.finditer(text):
        start = int(m.group(1) or m.group(2))
        add(Atom(m.start(), m.end(), Period(date(start, 1, 1), date(start + 9, 12, 31)), "span"))
    for m in re.finditer(r"(?<![A-Za-z\d_])(" + _YEAR + r")(?!\d)", text):  # not the 1888 of image "P1888"
        add(Atom(m.start(), m.end(), _year_period(int(m.group(1))), "year"))
    _add_bare_months(text, today, add)
    return sorted(atoms, key=lambda a: a.start)


def _add_bare_months(text: str, today: date, add: Callable[[Atom | None], None]) -> None:
    """Months without a year: inside a range ("from March to May 2023") or after "in"/"en" (latest past one)."""
    range_pattern = (
        r"\b(?:from|between|de|du|entre)\s+(" + _MONTH + r")\s+(?:to|and|a|au|et|until|-)\s+(" + _MONTH + r")"
    )
    for m in re.finditer(range_pattern, text):
        month = _MONTHS[m.group(1).rstrip(".")]
        add(Atom(m.start(1), m.end(1), month_period(today.year, month), "month", month_only=month))
    for m in re.finditer(r"\b(?:in|en|during|pendant|au mois de|au mois d')\s+(" + _MONTH + r")\b(?!\s*\d)", text):
        word = m.group(1).rstrip(".")
        if word not in _FULL_MONTHS and not m.group(1).endswith(".") and _NAME_AFTER.match(text[m.end(1) :]):
            continue  # "in mar chiquita lagoon", "in jun ..." : an abbreviation before a word is a name, not March
        month = _MONTHS[word]
        year = today.year if month <= today.month else today.year - 1
        add(Atom(m.start(1), m.end(1), month_period(year, month), "month"))
