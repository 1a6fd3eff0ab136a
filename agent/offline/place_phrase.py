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
from collections.abc import Callable

_WORD = r"[^\W\d_][\w'’]*"
_CONTINUATION = re.compile(
    r"^\s+(?:del|de la|de las|de los|do|da|dos|das|de|du|des|di|della|of the|of)\s+[A-ZÀ-Ý]\w*(?:[-\s][A-ZÀ-Ý]\w*)?"
    r"|^\s+d['’][A-ZÀ-Ý]\w*"
)
"""A name continued by a particle and a capitalised word: "Vega Baja del Segura", "Puy de Dôme", "Mall of the
Emirates"."""

LEADING_TERMS = (
    "lake|lac|lago|loch|etang|étang|reservoir|réservoir|lagoon|lagune|laguna|bay|baie|bahia|bahía|golfe|gulf|"
    "foret|forêt|forest|bois|ile|île|iles|îles|isle|isla|island|mont|monts|mount|monte|montagne|montagnes|massif|"
    "plateau|causse|marais|val|vallee|vallée|valley|cap|cape|cabo|pointe|presqu'ile|presqu'île|wadi|oued|ras|"
    "jebel|djebel|jabal|sierra|parc|jardin|delta|estuaire|gorges|plaine|pays|col|pic|glacier|desert|désert|"
    "bassin|chaine|chaîne|cirque|cote|côte|canal|rio|río|ribeira|serra|ilha|praia|dune|dunes"
)
"""Generic terms that open a feature's name, in the languages users write them in."""
NAMING_TERMS = "valley|depression|panhandle|oblast|krai|canyon|gorge|highlands|lowlands|rift|peninsula"
"""Closing terms that always name a region, never describe a town ("Beqaa valley", "Kherson oblast"): unlike
"rhodes island wildfires", "X valley" is never about the town X alone."""
TRAILING_TERMS = (
    "island|islands|isle|lake|lagoon|bay|delta|forest|park|national park|airpark|valley|canal|sea|river|"
    "reservoir|dam|peninsula|desert|mountains|range|marsh|marshes|wetlands|gardens?|estuary|strait|"
    "gulf|glacier|atoll|reef|basin|plateau|hills|wetlands?|gap|swamp|falls|archipelago|" + NAMING_TERMS
)
"""Generic terms that close a feature's name in English ("Kangaroo Island", "Okavango Delta")."""

PARTICLE = r"(?i:(?:de la |de l['’]|des |du |de |d['’]|of the |of |del |della |dei |delle |di |do |da )?)"
"""The particle between a generic term and the name ("lac de", "Val di", "Bay of")."""
ADJECTIVE = (
    r"(?:(?!(?:pr[eè]s|proche|autour|loin|lors|around|north|south|east|west|nord|sud|est|ouest|near|close|"
    r"inside|outside)\b)[a-zà-ÿ]{4,}\s+(?=(?:de|du|des|d['’]|of|di|del)\b))?"
)
"""One adjective between a term and its particle ("delta intérieur du Niger", "forêt domaniale de Chaux")."""
_LEADING = re.compile(r"(?i:\b(?:" + LEADING_TERMS + r"))\s+" + ADJECTIVE + PARTICLE + r"$")
_LEADING_ELIDED = re.compile(r"(?i:\b(?:val|ile|île|bois|lac|foret|forêt|etang|étang|cap)\s+d['’])$")
_TRAILING = re.compile(r"^\s+(?i:" + TRAILING_TERMS + r")\b")
_BARE = re.compile(r"^\s*(?i:(?:" + LEADING_TERMS + r"))\s+" + ADJECTIVE + PARTICLE + r"(?=\S)")
_BARE_TRAILING = re.compile(r"(?<=\S)\s+(?i:" + TRAILING_TERMS + r")\s*$")


_COMPOUND = re.compile(r"(?i:\b(?:feux?|incendies?|fires?|coupes?) (?:de |of )?)$")
"""A term that belongs to a compound noun before it: "le feu de forêt de Campénéac" is a fire at Campénéac."""


def in_compound(text: str, start: int) -> bool:
    """Whether the term at ``text[start:]`` closes a compound noun ("feu de |forêt de Campénéac")."""
    return bool(_COMPOUND.search(text[:start]))


def leading_term(text: str, start: int) -> int:
    """Where the generic term written just before ``text[start:]`` begins ("forêt de |Chaux"), else ``start``."""
    before = text[:start]
    if (m := _LEADING_ELIDED.search(before) or _LEADING.search(before)) and not _COMPOUND.search(before[: m.start()]):
        return m.start()
    return start


def trailing_term(text: str, end: int) -> int:
    """Where the generic term written just after ``text[:end]`` ends ("Jurong| Island"), else ``end``."""
    m = _TRAILING.match(text[end:])
    return end + m.end() if m else end


def naming_term(term: str) -> bool:
    """Whether a closing term always belongs to the name before it ("valley", "oblast"; see NAMING_TERMS)."""
    return bool(re.fullmatch(r"(?i:" + NAMING_TERMS + r")", term.strip()))


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


_CAPITAL_WORD = re.compile(r"(?<![\w'’-])([A-ZÀ-Ý][\w'’]*)(\s+)$")
_ARTICLES = frozenset({"La", "Le", "Les"})
_SENTENCE_END = ".!?:;\n"


def capitalised_run(text: str, start: int, *, stop: Callable[[str], bool] = lambda word: False) -> int:
    """Where the run of capitalised words just before ``text[start:]`` begins, else ``start``.

    The gazetteer may know only the last word of a name it lacks ("New Administrative |Capital", "de La |Mède"):
    mid-sentence capitals before it are part of the name. The first word of a sentence is capitalised anyway
    and joins only when it is a French article ("La Mède"); words ``stop`` accepts (sensors, months, other
    places) never join, and a
    question written in title case tells nothing, so nothing grows there.
    """
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    if len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.6 * len(words):
        return start
    begin = start
    while (m := _CAPITAL_WORD.search(text[:begin])) and len(m.group(2)) == 1:
        word = m.group(1)
        if stop(word) or word.endswith(("'s", "’s")) or (len(word) > 1 and word.isupper()):
            break
        before = text[: m.start()].rstrip()
        if (not before or before[-1] in _SENTENCE_END) and word not in _ARTICLES:
            break
        begin = m.start()
    return begin


_NEXT_CAPITAL = re.compile(r"^ ([A-ZÀ-Ý][\w'’]*)(?![\w'’-])")


def capitalised_tail(text: str, end: int, *, stop: Callable[[str], bool] = lambda word: False) -> int:
    """Where the run of capitalised words just after ``text[:end]`` ends ("Konza| Technopolis"), else ``end``.

    The counterpart of :func:`capitalised_run` for names the gazetteer knows by their first word only;
    acronyms ("OSCD", "NDVI") and ``stop`` words end the run.
    """
    words = re.findall(r"[^\W\d_][\w'’-]*", text)
    if len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.6 * len(words):
        return end
    while (m := _NEXT_CAPITAL.match(text[end:])) and not stop(m.group(1)) and not m.group(1).isupper():
        end += m.end()
    return end


_CORRECTION_WORD = (
    r"(?i:sorry|no|nope|non|pardon|i mean|je veux dire|enfin|plut[oô]t|actually|euh|oups|oops|my bad|i meant|"
    r"je voulais dire|désolée?|desolee?)"
)
_CORRECTION = re.compile(rf"(?:\.{{2,}}|…|,|;|-)\s*{_CORRECTION_WORD}\b(?:\s*,?\s*{_CORRECTION_WORD}\b)*\s*,?\s*")
_NAME_NEXT = re.compile(r"[A-ZÀ-Ý]")
_SAID_WRONG = re.compile(r"(?:[A-ZÀ-Ý][\w'’-]*\s+){0,2}[A-ZÀ-Ý][\w'’-]*\s*$")


def corrected(text: str) -> str:
    """The question with a name the user took back removed ("the Bekaa... sorry, Jezreel valley" -> the valley).

    Only a capitalised name just before the correction word goes; the rest of the sentence (topic, dates) stays.
    """
    for m in reversed(list(_CORRECTION.finditer(text))):
        wrong = _SAID_WRONG.search(text[: m.start()])
        # a name opening the question goes only when another name replaces it ("Paradise Valley... no sorry, Kiryat
        # Tivon"), not when the correction is about something else ("Paris, no, the flood of 2018")
        if wrong and (wrong.start() > 0 or _NAME_NEXT.match(text, m.end())):
            text = text[: wrong.start()] + " " * (m.end() - wrong.start()) + text[m.end() :]
    return text
