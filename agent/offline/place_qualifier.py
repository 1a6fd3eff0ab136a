"""What a place name is qualified by: the region or country written beside it.

"Lytton, British Columbia" (a name the gazetteer lacks, placed by its region), "Greenville California" (a homonym
settled by its state), "derna libya" (a lower-case town before its country).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.intents import find_object, intent_scores
from geovigie.agent.offline.lexicon import common_word
from geovigie.agent.offline.place_span import FUNCTION_WORDS, NOT_PLACES


def _known(name: str) -> bool:
    from geovigie.tools.places import get_gazetteer

    return bool(get_gazetteer().candidates(fold(name).lower()).places)


_BEFORE_QUALIFIER = re.compile(
    r"([^\W\d_][\w'’-]*(?:\s+[^\W\d_][\w'’-]*){0,2})(?:\s*[,(]|\s+(?:dans|en|in)(?:\s+(?:la|le|les|the))?|"
    r"\s+dans\s+l['’])\s*$"
)


def qualified_name(text: str, matches: Sequence[Any]) -> tuple[str, str, tuple[str, ...]] | None:
    """A name the gazetteer lacks, qualified by the region or country written after it.

    "Lytton, British Columbia", "the gran chaco, paraguay", "Vernon (Eure)", "Crest dans la Drôme": the region says
    where, the name says what. Names the gazetteer knows are merged with their qualifier by the place finder already.
    """
    for m in matches:
        if m.candidates[0].kind not in ("region", "state", "country"):
            continue
        before = _BEFORE_QUALIFIER.search(text[: m.start])
        if not before:
            continue
        words = before.group(1).split()
        while words and fold(words[0]).lower() in FUNCTION_WORDS | NOT_PLACES:
            words = words[1:]  # "in the gran chaco," -> "gran chaco"
        name = " ".join(words)
        if not name or any(name in str(o.text) or str(o.text) in name for o in matches if o is not m):
            continue
        parts = re.split(r"[\s'’-]+", name)
        if intent_scores(fold(name).lower()) or all(common_word(w.lower()) or fold(w).lower() in FUNCTION_WORDS
                                                    for w in parts):  # fmt: skip
            continue  # "deforestation, Brazil": a topic, not a place
        return name, str(m.candidates[0].country_code), ()
    return None


_REGION_GAP = re.compile(r"^\s*(?:[,(]\s*|\s+)(?:(?:in|en|dans)\s+(?:the |le |la |l['’])?)?$")


def region_beside(text: str, place: str, matches: Sequence[Any]) -> Any | None:
    """The state or province match written just after the place ("Greenville California", "Slave Lake, Alberta")."""
    at = text.find(place)
    if at < 0:
        return None
    end = at + len(place)
    for m in matches:
        if m.candidates[0].kind in ("state", "region") and m.start >= end and _REGION_GAP.match(text[end : m.start]):
            return m if fold(str(m.text)).lower() != fold(place).lower() else None
    return None


_BEFORE_COUNTRY = re.compile(r"([^\W\d_][\w'’-]{2,})\s+$")


def before_country(text: str, countries: Sequence[Any]) -> tuple[str, str] | None:
    """A lower-case town written just before its country ("derna libya"), with the country's code."""
    for m in countries:
        before = _BEFORE_COUNTRY.search(text[: m.start])
        if not before:
            continue
        word = before.group(1)
        folded = fold(word).lower()
        if folded in FUNCTION_WORDS | NOT_PLACES or common_word(folded) or intent_scores(folded):
            continue
        if find_object(folded):
            continue
        if _known(word):
            return word, str(m.candidates[0].country_code)
    return None
