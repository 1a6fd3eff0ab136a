"""Place names in French and English text: query phrases ("le port du Havre") and free questions.

Two entry points:

* :func:`name_variants` and :func:`split_qualifier` turn one place phrase into lookup keys:
  prefixes such as "near", "port of", "près de", "le port du" are stripped (and "du"/"au" restored
  to "le": "port du Havre" -> "le havre"); a trailing country or US state ("Valencia, Spain",
  "Valencia (Espagne)", "Valence en Espagne", "Paris, Texas") becomes a filter.
* :func:`find_place_in_text` scans a whole question for known names (longest n-gram of up to 4 words
  first). Common words that are also city names ("Nice", "Split", "Mobile", "Reading") count only when
  capitalised and not at the start of a sentence; lower-case words count only when they are the official
  name of a city of 100,000+ inhabitants or of a country ("bordeaux", "espagne").
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from geovigie.tools.places.gazetteer import Gazetteer, PlaceOption, fold, get_gazetteer
from geovigie.tools.places.qualifiers import settle

MAX_NGRAM = 4
LOWERCASE_MIN_POPULATION = 100_000

# (folded prefix, replacement). "du"/"au" contract "de le"/"à le": "port du Havre" is the port of Le Havre.
_PREFIXES: list[tuple[str, str]] = sorted(
    [
        (p, "")
        for p in (
            "the port of", "port of", "harbour of", "harbor of", "the harbour of", "the harbor of",
            "the city of", "city of", "the town of", "town of", "the area of", "the region of", "near",
            "nearby", "around", "close to", "in", "at", "of", "le port de", "port de", "le port d", "port d",
            "la ville de", "ville de", "ville d", "la region de", "region de", "pres de", "pres d", "autour de",
            "autour d", "aux alentours de", "a proximite de", "a cote de", "a", "en", "dans", "de", "d", "sur",
            # a feature the gazetteer lacks, named after a place it knows: "massif des Maures" -> "Maures"
            "massif des", "massif du", "massif de", "plateau de", "plateau des", "plateau du", "plaine de",
            "foret de", "foret des", "foret du", "the forest of", "forest of", "parc de la", "parc du", "parc des",
            "parc de", "jardin du", "jardin des", "jardin de",
        )
    ]
    + [
        (p, "le ")
        for p in ("le port du", "port du", "pres du", "autour du", "aux alentours du", "a proximite du",
                  "au", "du", "la ville du")
    ]
    + [("aux", "les "), ("des", "les ")],
    key=lambda item: -len(item[0]),
)  # fmt: skip

_QUALIFIER_WORDS = re.compile(r"^(.+?)\s+(?:en|in|au|aux|aux\s+les|dans\s+l[ae]?)\s+(.+)$", re.IGNORECASE)

# Common French/English words that are also place names in GeoNames (official or alternate): they count
# only when capitalised mid-sentence ("the floods in Nice"). Found by scanning a few hundred frequent words.
STOPWORDS = frozenset(
    """airport along ans area avion bath bay best big but can cars champs cherche come date deal dis forest
    from gap gare green hope lens mai man march marine mer mine mission mobile mon montre more most much nice
    of okay one orange petit plage port reading rouge sale same say seen sens serre she since split spring
    street sur tell than time tours union valley van vert victoria ville wells young""".split()
)

# Never a place on their own: months and week days ("in March 2023", "en Mai").
_NEVER = frozenset(
    """january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday janvier fevrier mars avril mai juin juillet aout septembre
    octobre novembre decembre lundi mardi mercredi jeudi vendredi samedi dimanche""".split()
)

# Words that stay lower case inside a capitalised place name ("Aix-en-Provence", "Port of Spain").
_PARTICLES = frozenset(
    "a au aux d da das de del della der des di do dos du e en et im l la le les of on sur sous the upon y".split()
)
_TOKEN = re.compile(r"[^\W\d_]+")
_JOINER = re.compile(r"[ \t\-'’]{1,3}")
_SENTENCE_END = '.!?:;…\n«"“'
_REGION_GAP = re.compile(r"\s*(?:,|\(|\s)\s*")
_QUALIFIER_GAP = re.compile(r"\s*(?:,|\(|\ben\b|\bin\b|\bau\b|\baux\b)\s*", re.IGNORECASE)


class PlaceMatch(BaseModel):
    """A place name found in free text."""

    text: str = Field(description="The matched substring, as written")
    start: int
    end: int
    key: str = Field(description="Folded name looked up in the gazetteer")
    candidates: list[PlaceOption] = Field(description="Matching places, best first")
    ambiguous: bool = Field(description="True when several places in different countries are plausible")
    country_filter: str | None = Field(None, description="ISO-2 code from a qualifier such as 'X, Spain'")


def strip_prefixes(key: str) -> list[str]:
    """Folded variants of a place phrase, to try in order: the phrase itself, then ever more stripped.

    The raw phrase comes first so that names starting like a prefix ("Port of Spain", "A Coruña") win.

    Args:
        key: folded phrase (see :func:`geovigie.tools.places.gazetteer.fold`), e.g. ``"pres du port de marseille"``.

    Returns:
        e.g. ``["pres du port de marseille", "le port de marseille", "port de marseille", "marseille"]``.
    """
    variants = [key]
    while True:
        for prefix, replacement in _PREFIXES:
            if key.startswith(prefix + " "):
                key = key[len(prefix) + 1 :]
                if replacement:
                    variants.append(replacement + key)
                variants.append(key)
                break
        else:
            return list(dict.fromkeys(v for v in variants if v))


def split_qualifier(text: str) -> tuple[str, str | None]:
    """Split "Valencia, Spain", "Valencia (Espagne)", "Valence en Espagne" into (name, qualifier).

    The qualifier is returned as written; the caller decides whether it names a country or a state.
    """
    text = text.strip().rstrip("?!. ")
    if match := re.fullmatch(r"(.+?)\s*\(([^()]+)\)", text):
        return match.group(1), match.group(2)
    if "," in text:
        head, tail = text.rsplit(",", 1)
        return head, tail.strip()
    if match := _QUALIFIER_WORDS.fullmatch(text):
        return match.group(1), match.group(2)
    return text, None


def _sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_END


def _capitalised(words: list[str]) -> bool:
    content = [w for w in words if fold(w) not in _PARTICLES]
    return bool(content) and all(w[0].isupper() for w in content)


def _accept(text: str, words: list[str], start: int, key: str, gaz: Gazetteer) -> bool:
    """Whether an n-gram that is a gazetteer key should count as a place mention."""
    single = len(words) == 1
    if single and words[0].isupper() and len(words[0]) <= 4:  # acronyms: NDVI, SAR are not places; USA, UK are
        return gaz.country_code(key) is not None
    if single and (len(key) <= 2 or key in _NEVER):
        return False
    capitalised = _capitalised(words)
    initial = _sentence_start(text, start)
    if key in STOPWORDS:
        return capitalised and not initial
    official = [gaz.places[i] for i in gaz.primary.get(key, [])]
    well_known = any(p.kind == "country" or p.population >= LOWERCASE_MIN_POPULATION for p in official)
    if capitalised and not (single and initial):
        return True
    if capitalised:  # a capital at the start of a sentence says nothing: want a known or sizeable place
        alternates = [gaz.places[i] for i in gaz.alternate.get(key, [])]
        return bool(official) or any(p.kind == "state" or p.population >= LOWERCASE_MIN_POPULATION for p in alternates)
    # several lower-case words that together are a place's official name ("fort myers", "lake mead") are rarely
    # chance; one of them must be more than a particle or a common word ("le port", "la plage" are not places)
    parts = [w for w in key.split() if w not in _PARTICLES]
    named = [w for w in parts if w not in STOPWORDS and w not in _FEATURE_WORDS]
    feature = len(parts) >= 2 and any(w in _FEATURE_WORDS for w in parts)  # "lake victoria"
    return well_known or (len(words) >= 2 and bool(official) and (bool(named) or feature))


def _minor_mention(text: str, words: list[str], start: int, key: str, gaz: Gazetteer) -> bool:
    """Whether an n-gram the main tier lacks names a town or region of the second tier.

    Only capitalised names that do not merely open the sentence are looked up: a small town is named the way a
    person writes a proper name ("près de Saint-Émilion", "in the Gironde"), and the second tier holds ten times
    more names, many of them common words in some language.
    """
    if gaz.minor is None or len(key) <= 3 or key in STOPWORDS or key in _NEVER:
        return False
    if words[0].isupper() and len(words[0]) <= 4:  # acronyms: SAR, NDVI, S2
        return False
    if not words[0][:1].isupper() or not _capitalised(words) or (len(words) == 1 and _sentence_start(text, start)):
        return False  # "les Landes", "de León": the particle belongs to the sentence, not to a town's name
    return bool(gaz.candidates(key).places)


_FEATURE_WORDS = frozenset(
    "lake lakes lac lacs lago river riviere fleuve rio bay baie mount mont mountain montagne island ile isle "
    "forest foret delta valley vallee gulf golfe sea mer coast cote cape cap peninsula reservoir etang marais "
    "canal port harbour harbor county region province departement state".split()
)
"""Generic feature words: never a place by themselves, whatever alternate names the second tier lists."""


def _scan(text: str, gaz: Gazetteer) -> list[PlaceMatch]:
    tokens = list(_TOKEN.finditer(text))
    folded = [fold(t.group()) for t in tokens]
    matches: list[PlaceMatch] = []
    i = 0
    while i < len(tokens):
        for n in range(min(MAX_NGRAM, len(tokens) - i), 0, -1):
            span = tokens[i : i + n]
            if any(not _JOINER.fullmatch(text[a.end() : b.start()]) for a, b in zip(span, span[1:], strict=False)):
                continue
            key = " ".join(folded[i : i + n])
            words = [t.group() for t in span]
            if key in _FEATURE_WORDS:  # "Lake" of "Lake Trasimeno" is not "Lake County"
                continue
            if any(gaz.knows(key)):
                if not _accept(text, words, span[0].start(), key, gaz):
                    continue
            elif not _minor_mention(text, words, span[0].start(), key, gaz):
                continue
            cands = gaz.candidates(key)
            start, end = span[0].start(), span[-1].end()
            matches.append(
                PlaceMatch(
                    text=text[start:end],
                    start=start,
                    end=end,
                    key=key,
                    candidates=[gaz.option(p) for p in cands.places[:6]],
                    ambiguous=cands.ambiguous,
                )
            )
            i += n - 1
            break
        i += 1
    return matches


def _merge_qualifiers(text: str, matches: list[PlaceMatch], gaz: Gazetteer) -> list[PlaceMatch]:
    """Fold "Valencia, Spain" / "Valence en Espagne" / "Paris (Texas)" into one filtered match."""
    out: list[PlaceMatch] = []
    i = 0
    while i < len(matches):
        m = matches[i]
        nxt = matches[i + 1] if i + 1 < len(matches) else None
        if nxt and m.candidates and m.candidates[0].kind == "city" and nxt.candidates:
            qual = nxt.candidates[0]
            if qual.kind in ("country", "state") and _QUALIFIER_GAP.fullmatch(text[m.end : nxt.start]):
                country = qual.country_code
                state = qual.admin1 if qual.kind == "state" else None
                cands = gaz.candidates(m.key, country=country, state=state)
                if cands.places:
                    end = nxt.end + (1 if text[nxt.end : nxt.end + 1] == ")" else 0)
                    merged = PlaceMatch(
                        text=text[m.start : end],
                        start=m.start,
                        end=end,
                        key=m.key,
                        candidates=[gaz.option(p) for p in cands.places[:6]],
                        ambiguous=cands.ambiguous,
                        country_filter=country,
                    )
                    out.append(merged)
                    i += 2
                    continue
        if nxt and _REGION_GAP.fullmatch(text[m.end : nxt.start]):
            if place := settle(gaz, m.key, nxt.key):  # "Hamilton Ontario", "Orange (Vaucluse)"
                end = nxt.end + (1 if text[nxt.end : nxt.end + 1] == ")" else 0)
                out.append(PlaceMatch(text=m.text, start=m.start, end=end, key=m.key,
                                      candidates=[gaz.option(place)], ambiguous=False,
                                      country_filter=place.country_code))  # fmt: skip
                i += 2
                continue
        out.append(m)
        i += 1
    return out


def find_place_in_text(text: str, *, gazetteer: Gazetteer | None = None) -> list[PlaceMatch]:
    """Find place names in a French or English question.

    Scans n-grams of up to 4 words, longest first, case-insensitively and accent-folded, against the
    offline gazetteer (built once per process, about 2 s; then well under 50 ms per question).

    Args:
        text: the user's question, e.g. "Combien de bâtiments neufs à Bordeaux depuis 2016 ?".
        gazetteer: index to use (defaults to the process-wide one).

    Returns:
        Matches in text order, each with its candidates (best first) and an ambiguity flag.
    """
    gaz = gazetteer or get_gazetteer()
    return _merge_qualifiers(text, _scan(text, gaz), gaz)
