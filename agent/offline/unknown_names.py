"""A place name nobody could find in the gazetteer: the rare word a topic question names instead of a place.

"chiquitania clearing since 2019", "Mai-Ndombe tree cover loss": the gazetteer lacks the place, the question
names no other; the rare run of words is geocoded (online it may exist; offline the answer says it is unknown)
rather than asking the user for a place they already gave.
"""

from __future__ import annotations

import re

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.lexicon import common_word
from geovigie.agent.offline.place_span import FUNCTION_WORDS

_DOMAIN_WORDS = frozenset(
    "pixel pixels polygon polygons geojson shapefile raster rasters ndvi ndwi mndwi nbr dnbr ndbi quicklook "
    "landcover overlay overlays mask masks cog tif tiff png jpg jpeg bbox lat lon km km2 ha hectares sentinel "
    "landsat naip spot pleiades modis planet worldview sar radar optique optical csv pdf kml json api geotiff "
    "dota levir oscd dsifn neon spacenet bigearthnet eolearn sen1floods11 aid chip chips patch tile tiles "
    "stp svp pls plz merci thanks thx ok okay".split()
)
"""Words of the trade and of politeness: never a place, however rare in everyday English or French."""


def unknown_name(text: str) -> str | None:
    """The longest run (1-3 words) that is neither a topic word nor an everyday English or French word.

    Only asked for when a topic question names no place the gazetteer knows ("chiquitania clearing since 2019",
    "Mai-Ndombe tree cover loss"): the name goes to the geocoder rather than a question asking for a place.
    """
    from geovigie.agent.offline.intents import INTENT_CUES, OBJECT_SYNONYMS, fix_typos

    folded = fold(text).lower()
    for pattern in [p for patterns in INTENT_CUES.values() for p, _ in patterns] + list(OBJECT_SYNONYMS.values()):
        folded = re.sub(pattern, lambda m: " " * len(m.group()), folded)
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[a-z][a-z'-]*", folded)]

    def rare_part(part: str) -> bool:
        if len(part) < 3 or part in FUNCTION_WORDS or part in _DOMAIN_WORDS or common_word(part):
            return False
        return fix_typos(part) == part  # "defrestation" is a typo of a topic word, not a place

    def rare(token: tuple[int, int, str]) -> bool:  # "Mai-Ndombe" has a rare part; "a-t-il", "là-dessus" none
        word = token[2]
        if common_word(text[token[0] : token[1]].lower()):  # as written: "détectés" is a word, "detectes" is not
            return False
        return word not in FUNCTION_WORDS and any(rare_part(p) for p in re.split(r"[-']", word))

    best: tuple[int, int] | None = None
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and rare(tokens[j]) and (j == i or not folded[tokens[j - 1][1] : tokens[j][0]].strip()):
            j += 1
        if j > i and (best is None or j - i > best[1] - best[0]):
            best = (i, j)
        i = max(j, i + 1)
    if best is None or best[1] - best[0] > 3:
        return None
    return text[tokens[best[0]][0] : tokens[best[1] - 1][1]].strip()
