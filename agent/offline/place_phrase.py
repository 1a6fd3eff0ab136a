"""The whole place phrase around a gazetteer match: "Bussy-Saint-Georges", not "Saint-Georges".

The gazetteer finds the longest name it knows; people write longer ones: hyphenated communes built on a known
name ("Bussy-Saint-Georges", "Saint-Martin-Vésubie", "Port-Jérôme"), Spanish and Portuguese names continued by
"del/de la/do" ("Vega Baja del Segura"), and features named after a town ("San Francisco Bay", "Jurong Island",
"Bassin d'Arcachon", "lac de Serre-Ponçon"). The phrase as written is what the geocoder must receive.
"""

from __future__ import annotations

import re

_WORD = r"[^\W\d_][\w'’]*"
_CONTINUATION = re.compile(
    r"^\s+(?:del|de la|de las|de los|do|da|dos|das|de|du|des)\s+[A-ZÀ-Ý]\w*(?:[-\s][A-ZÀ-Ý]\w*)?|^\s+d['’][A-ZÀ-Ý]\w*"
)
"""A name continued by a particle and a capitalised word: "Vega Baja del Segura", "Puy de Dôme"."""
_FEATURE_AFTER = re.compile(
    r"^\s+(?:Bay|Island|Islands|Sea|Lake|Lagoon|Harbou?r|Peninsula|Valley|Delta|Estuary|Strait|Canal|Reservoir|"
    r"Dam|Gulf|Forest|River|Park|Gardens?)\b"
)
_FEATURE_BEFORE = re.compile(
    r"\b(?:[Bb]assin|[Bb]aie|[Gg]olfe|[Ee]tang|[ÉéEe]tang|[Ll]ac|[Ll]agune|[Vv]all[ée]e|[Dd]elta|"
    r"[Pp]resqu'[îi]le|[Mm]assif|[Pp]lateau|[Mm]onts?|[Mm]ontagnes?|[Cc]ha[îi]ne|[Pp]ic|[Cc]ol|[Cc]ausse|"
    r"[Gg]orges|[Mm]arais|[Pp]laine|[ÎîIi]les?|[Cc]ap|[Pp]ointe|[Cc][ôo]te|[Pp]ays|[Ee]stuaire|"
    r"[Cc]irque|[Vv]al|[Pp]arc|[Jj]ardin)\s+(?:de la |de l'|des |du |de |d['’])$"
)
"""A feature word before the name: "massif des Maures", "plateau de Millevaches", "lac de Serre-Ponçon"."""


def expand_place(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the whole place phrase around ``text[start:end]`` (a name the gazetteer matched)."""
    while start > 1 and text[start - 1] == "-" and re.search(_WORD + r"$", text[: start - 1]):
        start = re.search(_WORD + r"$", text[: start - 1]).start()  # type: ignore[union-attr]
    while end < len(text) - 1 and text[end] == "-" and (m := re.match(_WORD, text[end + 1 :])):
        end += 1 + m.end()
    if m := _CONTINUATION.match(text[end:]):
        end += m.end()
    if m := _FEATURE_AFTER.match(text[end:]):
        end += m.end()
    if m := _FEATURE_BEFORE.search(text[:start]):
        start = m.start()
    return start, end


def expand_phrase(text: str, phrase: str) -> str:
    """``phrase`` (found in ``text``) grown to the whole place phrase; ``phrase`` itself when not found."""
    at = text.find(phrase)
    if at < 0:
        return phrase
    start, end = expand_place(text, at, at + len(phrase))
    return text[start:end].strip()
