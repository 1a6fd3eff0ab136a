"""The whole place phrase around a name: "Bussy-Saint-Georges", "forêt de Compiègne", "Kangaroo Island".

The gazetteer finds the longest name it knows; people write longer ones: hyphenated communes built on a known
name ("Bussy-Saint-Georges", "Saint-Martin-Vésubie"), Spanish and Portuguese names continued by "del/de la/do"
("Vega Baja del Segura"), and features: a generic term before the name ("lac de Serre-Ponçon", "Val d'Orcia",
"Cap Corse", "Wadi As-Sirhan", "Ras Laffan", "bois de Boulogne") or after it ("Jurong Island", "Okavango
Delta", "Pinal Airpark"). The phrase as written is what the geocoder must receive; :func:`bare_name` gives
the name without its generic term, for the geocoder's second try when the feature itself is unknown.

A generic term before a name always belongs to it (French and Arabic put the term first: "forêt de Chaux" is
the forest, not the village of La Chaux). A term after a name may be description ("rhodes island wildfires"
is about Rhodes): :func:`trailing_term_is_name` keeps it only when the bare name is not a known place.
"""

from __future__ import annotations

import re

_WORD = r"[^\W\d_][\w'’]*"
_CONTINUATION = re.compile(
    r"^\s+(?:del|de la|de las|de los|do|da|dos|das|de|du|des)\s+[A-ZÀ-Ý]\w*(?:[-\s][A-ZÀ-Ý]\w*)?|^\s+d['’][A-ZÀ-Ý]\w*"
)
"""A name continued by a particle and a capitalised word: "Vega Baja del Segura", "Puy de Dôme"."""

LEADING_TERMS = (
    "lake|lac|lago|loch|etang|étang|reservoir|réservoir|lagoon|lagune|laguna|bay|baie|bahia|bahía|golfe|gulf|"
    "foret|forêt|forest|bois|ile|île|iles|îles|isle|isla|island|mont|monts|mount|monte|montagne|montagnes|massif|"
    "plateau|causse|marais|val|vallee|vallée|valley|cap|cape|cabo|pointe|presqu'ile|presqu'île|wadi|oued|ras|"
    "jebel|djebel|jabal|sierra|parc|jardin|delta|estuaire|gorges|plaine|pays|col|pic|glacier|desert|désert|"
    "bassin|chaine|chaîne|cirque|cote|côte|canal|rio|río|ribeira|serra|ilha|praia"
)
"""Generic terms that open a feature's name, in the languages users write them in."""
TRAILING_TERMS = (
    "island|islands|isle|lake|lagoon|bay|delta|forest|park|national park|airpark|valley|canal|sea|river|"
    "reservoir|dam|peninsula|desert|mountains|range|marsh|marshes|wetlands|gardens?|estuary|strait|"
    "gulf|glacier|atoll|reef|basin|plateau|hills|wetlands?|gap|swamp|falls|archipelago"
)
"""Generic terms that close a feature's name in English ("Kangaroo Island", "Okavango Delta")."""

_LEADING = re.compile(
    r"(?i:\b(?:" + LEADING_TERMS + r"))\s+(?i:(?:de la |de l['’]|des |du |de |d['’]|of the |of |del |do |da )?)$"
)
_LEADING_ELIDED = re.compile(r"(?i:\b(?:val|ile|île|bois|lac|foret|forêt|etang|étang|cap)\s+d['’])$")
_TRAILING = re.compile(r"^\s+(?i:" + TRAILING_TERMS + r")\b")
_BARE = re.compile(
    r"^\s*(?i:(?:" + LEADING_TERMS + r"))\s+(?i:(?:de la |de l['’]|des |du |de |d['’]|of the |of |del |do |da )?)"
    r"(?=\S)"
)
_BARE_TRAILING = re.compile(r"(?<=\S)\s+(?i:" + TRAILING_TERMS + r")\s*$")


def leading_term(text: str, start: int) -> int:
    """Where the generic term written just before ``text[start:]`` begins ("forêt de |Chaux"), else ``start``."""
    before = text[:start]
    if m := _LEADING_ELIDED.search(before) or _LEADING.search(before):
        return m.start()
    return start


def trailing_term(text: str, end: int) -> int:
    """Where the generic term written just after ``text[:end]`` ends ("Jurong| Island"), else ``end``."""
    m = _TRAILING.match(text[end:])
    return end + m.end() if m else end


def expand_place(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the whole place phrase around ``text[start:end]`` (a name the gazetteer matched)."""
    while start > 1 and text[start - 1] == "-" and re.search(_WORD + r"$", text[: start - 1]):
        start = re.search(_WORD + r"$", text[: start - 1]).start()  # type: ignore[union-attr]
    while end < len(text) - 1 and text[end] == "-" and (m := re.match(_WORD, text[end + 1 :])):
        end += 1 + m.end()
    if m := _CONTINUATION.match(text[end:]):
        end += m.end()
    return leading_term(text, start), end


def expand_phrase(text: str, phrase: str) -> str:
    """``phrase`` (found in ``text``) grown to the whole place phrase; ``phrase`` itself when not found."""
    at = text.find(phrase)
    if at < 0:
        return phrase
    start, end = expand_place(text, at, at + len(phrase))
    return text[start:end].strip()


def bare_name(place: str) -> str | None:
    """The name inside a feature phrase ("Lake Kariba" -> "Kariba", "Jurong Island" -> "Jurong"), else None."""
    if m := _BARE.match(place):
        return place[m.end() :].strip() or None
    if m := _BARE_TRAILING.search(place):
        return place[: m.start()].strip() or None
    return None
