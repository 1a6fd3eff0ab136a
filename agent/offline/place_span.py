"""How far a place phrase reaches around the gazetteer's match: grown, shrunk back, or cut to a known part.

The gazetteer finds the longest name it knows; the phrase the user wrote may be longer ("New Administrative
Capital", "de La Mède", "Konza Technopolis", "Tulare Lake") or describe a city's surroundings ("la forêt de
Pucallpa"). :func:`grown_span` decides the span; :func:`known_part` gives the geocoder's second try.
"""

from __future__ import annotations

import re
from typing import Any

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.intents import find_sensor
from geovigie.agent.offline.periods import MONTH_PATTERN
from geovigie.agent.offline.place_phrase import (
    capitalised_run,
    capitalised_tail,
    expand_place,
    naming_term,
    trailing_term,
)

FUNCTION_WORDS = frozenset(
    "the a an of in on at for to from by with and or is are was were has have had it its this that there how what "
    "which when where did does do many much any some all my our your le la les l de du des d un une et ou en au aux "
    "a dans sur pour par avec est sont il elle ce cet cette y quel quelle combien qu que quoi ca son sa ses".split()
)
"""Words that never begin or end a place name."""


NOT_PLACES = frozenset(
    "i sentinel landsat spot pleiades ndvi ndwi nbr dnbr images image imagery system systeme svp stp please "
    "compare comparer carte map the le la les ce quelle quel combien how what which ok okay alors then instead "
    "plutot sinon donc table tableau".split()
)
"""Capitalised words that are not places when they open a name ("Compare", "Sentinel")."""


_LAND_TERM = re.compile(r"^(?i:for[eê]t|forest|plaine|pays)\b")  # "bois de Boulogne", "parc de Sceaux" are named
BIG_CITY = 100_000


def grown_span(text: str, match: Any) -> tuple[int, int]:
    """The span of the gazetteer's match grown to the whole phrase (:func:`expand_place`, a closing term).

    A term after the name is kept when it is written with a capital ("Tulare Lake") or when the gazetteer knows
    the grown phrase ("okavango delta"): "rhodes island wildfires" is about Rhodes. A land term before a big
    city ("la forêt de Pucallpa") describes its surroundings, unless the gazetteer knows the feature.
    """
    from geovigie.tools.places import get_gazetteer

    end = match.start + len(str(match.text))
    start, grown_end = expand_place(text, match.start, end)
    closed = trailing_term(text, grown_end)
    term = text[grown_end:closed].strip()
    if closed != grown_end and (
        term[:1].isupper() or naming_term(term) or get_gazetteer().candidates(fold(text[start:closed])).places
    ):
        grown_end = closed
    if start < match.start and surroundings(text, start, match, grown_end):
        start = match.start
    places = match.candidates
    if start == match.start and not (places and _big_city(places[0])):
        start = capitalised_run(text, start, stop=_not_in_name)  # "Greater Cairo" is Cairo; "New Admin. Capital" not
        if grown_end == end:
            grown_end = capitalised_tail(text, grown_end, stop=_not_in_name)  # "Eko Atlantic City"
    return start, grown_end


_IMAGERY_WORDS = frozenset(
    "sentinel landsat spot pleiades naip planet planetscope maxar worldview modis sar image images scene".split()
)


def known_part(place: str) -> str | None:
    """The longest part of a multi-word name that the gazetteer knows ("Konza Technopolis" -> "Konza"), else None.

    The geocoder's second try for a name grown around a known word. A name opened by an article is another place
    than its bare word ("La Mède" is not the Mede of Italy), so it has none.
    """
    from geovigie.tools.places import get_gazetteer

    words = place.split()
    if len(words) < 2 or fold(words[0]).lower() in ("la", "le", "les", "l'", "el", "al", "the"):
        return None
    gaz = get_gazetteer()
    for size in range(len(words) - 1, 0, -1):
        for at in range(len(words) - size + 1):
            part = " ".join(words[at : at + size])
            if fold(part).lower() not in FUNCTION_WORDS and gaz.candidates(fold(part)).places:
                return part
    return None


def _not_in_name(word: str) -> bool:
    """Capitalised words that never open a longer name: sensors, months, days, function words, other places."""
    from geovigie.tools.places import get_gazetteer

    folded = fold(word).lower()
    if (
        folded in _IMAGERY_WORDS
        or (folded in FUNCTION_WORDS and folded not in ("la", "le", "les"))
        or find_sensor(folded)
        or re.fullmatch(MONTH_PATTERN, folded)
    ):
        return True
    if folded in ("la", "le", "les"):
        return False
    places = get_gazetteer().candidates(folded).places  # "Gonfaron Var": the Var is a region, not more name
    return any(p.kind != "city" or _big_city(p) for p in places)


def _big_city(place: Any) -> bool:
    return place.kind == "city" and (getattr(place, "population", 0) or 0) >= BIG_CITY


def surroundings(text: str, start: int, match: Any, end: int | None = None) -> bool:
    """Whether a land term before a big city ("la forêt de Pucallpa") describes the city's surroundings."""
    from geovigie.tools.places import get_gazetteer

    phrase = text[start : end if end is not None else match.start + len(str(match.text))]
    if not _LAND_TERM.match(phrase):
        return False
    gaz = get_gazetteer()
    places = gaz.candidates(fold(str(match.text))).places
    big = bool(places) and places[0].kind == "city" and (places[0].population or 0) >= BIG_CITY
    return big and not gaz.candidates(fold(phrase)).places
