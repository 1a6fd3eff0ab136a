"""How a turn combines with the dialogue state: a reply fills the pending slot, a follow-up replaces only what it names.

- A reply to the agent's own question fills the slot it asked for: "Spain", "the Spanish one", "celle du
  Mexique" pick one of the homonyms offered (by country or region); a date answers "when?"; a theme answers "what
  would you like to know about X?"; an image answers "which image?". The topic, dates and language are kept.
- A follow-up ("et à Rennes ?", "and in 2017?", "same for ships", "the one in Mexico?") replaces only the slots
  it names; everything else comes from the current task.
- A question complete in itself (its own theme and its own place or image) starts a new task.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from geovigie.agent.offline.countries import named_country
from geovigie.agent.offline.dates import DateInfo, fold
from geovigie.agent.offline.dialogue import DialogueState
from geovigie.agent.offline.intents import _EN_WORDS, _FR_WORDS, EXPANSION_CUES
from geovigie.agent.offline.item_dates import item_date
from geovigie.agent.offline.item_facts import ItemFacts
from geovigie.agent.offline.offered import choose_offered
from geovigie.agent.offline.periods import Period
from geovigie.agent.offline.references import refer, relink
from geovigie.agent.offline.understanding import ALWAYS_CHANGE, Understanding

_GENERIC = ("unknown", "change_generic")
_CORRECTION = re.compile(
    r"\b(?:oops|sorry|i meant|i mean|meant|typo|my bad|pardon|oups|je voulais dire|plutot|erreur|correction|non)\b"
)
"""A reply that corrects the last question rather than asking a new one."""
_COMPARE_WITH = re.compile(r"\b(?:compar\w*|versus|vs)\b")
_AGAINST = re.compile(r"\b(?:compar\w*|versus|vs|chang\w*|since|depuis|difference\w*|evolu\w*|against|par rapport)\b")
"""A follow-up that sets the current image against another one."""
_SAME = re.compile(r"^\s*(?:and |et )?(?:same|the same|idem|pareil|meme chose|la meme chose|de meme)\b")
"""A reply that asks for the task again elsewhere or at other dates."""
_THE_ONE = re.compile(r"\b(the one|one in|that one|the other|celle|celui|l'autre|la ville)\b")


def _country_of(text: str) -> str | None:
    """The ISO code of the country (or of the region, via the gazetteer) a short reply names."""
    if code := named_country(text):
        return code
    try:
        from geovigie.tools.places import find_place_in_text
    except ImportError:
        return None
    for match in find_place_in_text(text):
        if match.candidates and match.candidates[0].kind in ("country", "state", "region"):
            return str(match.candidates[0].country_code)
    return None


def weak_language(question: str) -> bool:
    """True when a reply has no word that tells French from English ("Spain", "León", "2019")."""
    words = re.findall(r"[a-z]+", fold(question).lower())
    return not any(w in _FR_WORDS or w in _EN_WORDS for w in words)


def _pick_option(reply: Understanding, state: DialogueState, place: str) -> tuple[str, str | None] | None:
    """(query, country) for the homonym a reply chooses, or None when it does not choose."""
    code = _country_of(reply.question) or reply.country  # "Colombie-Britannique" is Canada, not Colombia
    options = [(m[1].strip(), m[2]) for o in state.options if (m := re.match(r"(.+?)\s*\(([A-Z]{2})\)\s*$", o))]
    named = [o for o in options if fold(o[0]) in fold(reply.question) and fold(o[0]) != fold(place)]
    chosen = named[0] if len(named) == 1 else next((o for o in options if o[1] == code), None)
    if chosen is None and code is None and (by_region := _by_region(reply.question, place, options)):
        return by_region  # "celle du Jura": the region the homonym lies in
    if chosen is None:
        return (place, code) if code else None
    name = chosen[0] if fold(chosen[0]) == fold(place) else place  # "Mérida" keeps its accent, "León" stays León
    return name, chosen[1]


def _by_region(reply: str, place: str, options: list[tuple[str, str]]) -> tuple[str, str | None] | None:
    """(place, country) when the reply names a region.

    The region is one the gazetteer places the homonym in, or one whose country is that of exactly one option.
    """
    try:
        from geovigie.tools.places import get_gazetteer, qualifier_countries, settle
    except ImportError:
        return None
    gaz = get_gazetteer()
    grams: list[str] = []
    for text, glue in ((fold(reply).lower(), _REPLY_GLUE), (fold(reply).lower().replace("-", " "), frozenset())):
        words = [w for w in re.findall(r"[^\W\d_][\w'-]*", text) if w not in glue]  # "Puy-de-Dôme" = puy de dome
        grams += [" ".join(words[i : i + n]) for n in (3, 2, 1) for i in range(len(words) - n + 1)]
    grams = [g for g in dict.fromkeys(grams) if len(g) >= 3 and g.split()[0] not in _REPLY_GLUE]
    for gram in grams:
        if found := settle(gaz, fold(place).lower(), gram):
            return place, found.country_code
    offered = {code for _, code in options}
    by_gram = [qualifier_countries(gaz, gram) for gram in grams]
    for codes in [c & offered for c in by_gram] + by_gram:  # an offered country first, else the region's one
        if len(codes) == 1:
            return place, codes.pop()
    return None


_REPLY_GLUE = frozenset("the one in of that celle celui du de la le les des d l in en au aux dans i mean meant".split())


def _aoi(u: Understanding) -> dict[str, Any]:
    return {"place": u.place, "country": u.country, "bbox": u.bbox, "point": u.point, "radius_km": u.radius_km,
            "place_options": u.place_options, "item_refs": u.item_refs, "region": u.region}  # fmt: skip


_BOTH_DATES = re.compile(r"\b(compar\w*|difference|evolution|change\w*)\b.*\b(deux|two|both|2)\b|\b(les deux|both)\b")


def _both_dates(earlier: DateInfo, current: DateInfo) -> dict[str, Any]:
    """A comparison between the dates of the two latest questions."""
    if earlier.period is None or current.period is None:
        return {}
    before, after = sorted((earlier.period, current.period), key=lambda p: p.start)
    span = Period(before.start, after.end)
    return {"dates": DateInfo(kind="compare", period=span, before=before, after=after, unit="span"), "change": True}


DATE_FLAGS = frozenset({"future", "clamped", "inverted", "unknown_event"})


def _dates(task: Understanding, reply: Understanding) -> dict[str, Any]:
    """The reply's dates and their flags, replacing the task's (none when the reply names no date).

    A bare year correcting a season or a month keeps them ("summer 2027" then "oops, 2025" = summer 2025); a
    new question about a year ("and in 2019?") asks about the whole year.
    """
    if reply.dates.kind == "none":
        return {}
    dates, old = reply.dates, task.dates
    corrects = _CORRECTION.search(fold(reply.question).lower())
    if (
        corrects
        and dates.unit == "year"
        and dates.kind == "single"
        and old.kind == "single"
        and old.unit
        in (
            "season",
            "month",
        )
    ):
        if old.period is not None and dates.period is not None:
            shift = dates.period.start.year - old.period.start.year
            moved = Period(_in_year(old.period.start, shift), _in_year(old.period.end, shift))
            dates = dataclasses.replace(old, period=moved, flags=frozenset())
            if moved.end > task.today:
                dates = dataclasses.replace(dates, flags=frozenset({"future"}))
    return {"dates": dates, "flags": (task.flags - DATE_FLAGS) | dates.flags}


def _in_year(day: date, shift: int) -> date:
    try:
        return day.replace(year=day.year + shift)
    except ValueError:  # 29 February
        return day.replace(year=day.year + shift, day=28)


def _fill(task: Understanding, reply: Understanding, state: DialogueState) -> Understanding | None:
    """The task with the slot the pending question asked for, taken from the reply (None: not an answer)."""
    changes: dict[str, Any] | None = None
    if state.asks == "place" and task.place:
        picked = _pick_option(reply, state, task.place)
        if picked:
            changes = {"place": picked[0], "country": picked[1], "place_options": (), "region": reply.region}
            changes |= _dates(task, reply)
        elif reply.has_aoi and reply.intent in _GENERIC:
            changes = _aoi(reply)
    elif state.asks == "place" and (reply.has_aoi or reply.item_refs):
        changes = _aoi(reply) | _dates(task, reply)
    elif state.asks == "date" and reply.dates.kind != "none":
        changes = _dates(task, reply)
    elif state.asks == "image" and (
        refs := reply.item_refs or choose_offered(reply.question, state.options, reply.dates.period)
    ):
        changes = {"item_refs": refs, "place": None, "country": None, "region": None}
    elif state.asks == "topic" and reply.intent not in _GENERIC:
        aoi = {} if reply.has_aoi or reply.item_refs else _aoi(task)
        return dataclasses.replace(reply, **aoi, clarification=None, asks=None)
    if changes is None:
        return None
    return dataclasses.replace(task, **changes, clarification=None, asks=None)


def _images(
    task: Understanding, reply: Understanding, known: Sequence[str], facts: Mapping[str, ItemFacts] | None
) -> tuple[str, ...] | None:
    """The images a follow-up turns to, or None when it names a place or nothing of the kind.

    Named, pointed at ("the 2018 one", "l'autre"), or named by a stem or a date in a conversation about images
    ("and on OSBS?", "now 2000 → 2010").
    """
    if reply.has_aoi:
        return relink(reply, task, known, facts)  # "same for rennes 2017" after an OSCD image: the image
    if reply.item_refs:
        return reply.item_refs
    return refer(reply, task, known) or relink(reply, task, known, facts)


def _against(task: Understanding, reply: Understanding, refs: tuple[str, ...]) -> tuple[str, ...]:
    """Both images when the reply sets the current one against another ("compare-la avec celle de 2016")."""
    if (
        len(refs) == 1
        and len(task.item_refs) == 1
        and refs != task.item_refs
        and _AGAINST.search(fold(reply.question).lower())
    ):
        return tuple(sorted((*task.item_refs, *refs), key=lambda i: (item_date(i) or date.min, i)))
    return refs


_TOWN_WORDS = re.compile(
    r"\b(?:urba\w*|batie?s?|buil[dt]\w*|construct\w*|housing|logements?|maisons?|houses?|homes|"
    r"quartiers?|city|ville|town)\b"
)


def _site_grown(task: Understanding, reply: Understanding) -> bool:
    """A follow-up asking only whether the industrial site of the task grew (no new place, no town words)."""
    said = fold(reply.question).lower()
    return (
        task.intent == "industrial_activity"
        and reply.intent in ("urban_growth", "change_generic", "unknown")
        and not reply.has_aoi
        and not reply.item_refs
        and bool(EXPANSION_CUES.search(said))
        and not _TOWN_WORDS.search(said)
    )


def _theme(task: Understanding, reply: Understanding) -> dict[str, Any]:
    """The topic slots (intent, change, object) a follow-up replaces: none when it names no topic of its own."""
    listing = reply.intent == "find_imagery" and not reply.has_aoi and task.intent not in _GENERIC
    if _site_grown(task, reply):  # "has it grown since 2015?" of a port or a plant: its footprint, still the site
        return {"intent": task.intent, "change": True, "object": None}
    if reply.intent not in _GENERIC and not listing:  # "et avec l'image radar ?" keeps the theme
        obj = reply.object or (task.object if reply.intent == "count_objects" else None)
        return {"intent": reply.intent, "change": reply.change, "object": obj}
    if reply.intent == "change_generic" and not task.change:
        return {"change": True}
    return {}


def _merge(
    task: Understanding,
    reply: Understanding,
    known: Sequence[str],
    earlier: DateInfo | None = None,
    facts: Mapping[str, ItemFacts] | None = None,
) -> Understanding:
    """A follow-up: the task with only the slots the reply names replaced."""
    changes = _theme(task, reply)
    code = _country_of(reply.question) if _THE_ONE.search(fold(reply.question).lower()) else None
    if reply.intent == "change_generic" and task.intent in ("describe", "find_imagery"):
        changes.update(intent="change_generic", change=True)  # "now the change between them"
    refs = _images(task, reply, known, facts) if not (code and task.place) else None
    if code and task.place:  # "and the one in Mexico?": same name, another country
        changes.update(country=code, place_options=())
    elif refs:
        refs = _against(task, reply, refs)
        changes.update(item_refs=refs, place=None, country=None, bbox=None, point=None, place_options=(), region=None)
        changes["change"] = changes.get("change", task.change) or len(refs) >= 2
    elif reply.has_aoi:
        changes.update(_aoi(reply), item_refs=())
    relinked = bool(refs) and not reply.item_refs
    compare_with = _COMPARE_WITH.search(fold(reply.question).lower()) and reply.dates.kind == "single"
    if compare_with and task.dates.period is not None and reply.dates.period is not None:
        changes.update(_both_dates(reply.dates, task.dates))  # "compare avec 2017": 2017 before, the task's after
    elif reply.dates.kind != "none" and not relinked:
        changes.update(_dates(task, reply))
        if reply.intent in _GENERIC and reply.dates.kind in ("compare", "since"):
            changes["change"] = True
    elif earlier is not None and _BOTH_DATES.search(fold(reply.question).lower()):
        changes.update(_both_dates(earlier, task.dates))  # "compare les deux": the last two dates asked
    if reply.max_cloud is not None:
        changes["max_cloud"] = reply.max_cloud
    if _site_grown(task, reply):  # after the dates, whose flags replace the task's
        changes["flags"] = changes.get("flags", task.flags) | {"footprint"}
    merged = dataclasses.replace(task, **changes, clarification=None, asks=None)
    if reply.place_options and reply.clarification and reply.asks == "place":  # the new place is itself ambiguous
        return dataclasses.replace(merged, clarification=reply.clarification, asks=reply.asks)
    if (merged.intent in ALWAYS_CHANGE or len(merged.item_refs) >= 2) and not merged.change:
        merged = dataclasses.replace(merged, change=True)
    return merged


def combine(
    reply: Understanding,
    state: DialogueState,
    known: Sequence[str] = (),
    facts: Mapping[str, ItemFacts] | None = None,
) -> Understanding:
    """The understanding to plan this turn with, given what the thread remembers."""
    task = state.task
    language = reply.language
    if task is not None and state.language and weak_language(reply.question):
        language = state.language  # type: ignore[assignment]
    if task is None:
        return dataclasses.replace(reply, language=language)
    if reply.intent == "find_imagery" and (
        _SAME.search(fold(reply.question).lower()) or reply.item_refs or "default_listing" in reply.flags
    ):
        reply = dataclasses.replace(reply, intent="unknown")  # "same for rennes 2017": the task again, not a listing
    base: dict[str, Any] = {"question": reply.question, "clean_question": reply.clean_question, "language": language}
    if state.asks and (filled := _fill(task, reply, state)) is not None:
        return dataclasses.replace(filled, **base)
    complete = reply.intent not in _GENERIC and (reply.has_aoi or reply.item_refs) and not reply.clarification
    if complete or task.intent == "unknown" and not task.has_aoi:
        return dataclasses.replace(reply, language=language)
    if reply.has_aoi and reply.intent not in _GENERIC and reply.clarification:
        return dataclasses.replace(reply, language=language)
    return dataclasses.replace(_merge(task, reply, known, state.earlier_dates, facts), **base)
