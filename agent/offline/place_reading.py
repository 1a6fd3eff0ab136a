"""Where a question asks about: the place phrase to geocode, its country qualifier and homonyms.

The gazetteer finds the names it knows (:func:`geovigie.tools.places.text.find_place_in_text`); this module
chooses among them (the area after "in/à" beats a feature after "of/de"), grows them to the phrase as written,
and falls back to capitalised names, named lakes and forests, or a lower-case name ending the question when the
gazetteer lacks the place (the geocoder decides later whether it exists).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from geovigie.agent.offline.countries import named_country
from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.intents import find_object
from geovigie.agent.offline.lexicon import common_word
from geovigie.agent.offline.place_phrase import (
    ADJECTIVE,
    LEADING_TERMS,
    PARTICLE,
    TRAILING_TERMS,
    expand_phrase,
    in_compound,
    naming_term,
    trailing_term,
)
from geovigie.agent.offline.place_qualifier import before_country, qualified_name, region_beside
from geovigie.agent.offline.place_span import FUNCTION_WORDS, NOT_PLACES, grown_span, surroundings

PlaceFinder = Callable[[str], Sequence[Any]]
"""``text -> matches`` with ``text``, ``start``, ``candidates`` (``name``, ``kind``, ``country_code``),
``ambiguous`` and ``country_filter`` attributes, as :func:`geovigie.tools.places.text.find_place_in_text` returns."""

NEAR = re.compile(
    r"\b(near|around|close to|in the vicinity of|surroundings of|region of|area of|pres de|pres d'|autour de|"
    r"autour d'|aux alentours de|alentours de|proche de|proche d'|a proximite de|region de|environs de)\b"
)
"""Wording that asks about the surroundings of a place, not just its centre (sets the ``near`` flag)."""


def default_place_finder() -> PlaceFinder | None:
    """The gazetteer's place finder, or None when the gazetteer is not installed."""
    try:
        from geovigie.tools.places import find_place_in_text
    except ImportError:  # the gazetteer is optional for the planner: fall back to capitalised names
        return None
    return find_place_in_text


_PREP = (
    r"(?i:\b(?:in|at|near|around|over|of|for|from|a|à|au|aux|en|pres de|près de|pres d'|près d'|autour de|"
    r"autour d'|sur|dans|de|du|d')\s*(?:l['’])?)"
)
_NAME = r"[A-ZÀ-Ý][\w’'-]*(?:\s+(?:(?:de|du|des|la|le|sur|en|of|the)\s+|d'|l')?[A-ZÀ-Ý][\w’'-]*)*"
_FEATURE = r"(?i:\b(?:" + LEADING_TERMS + r"))\s+" + ADJECTIVE + PARTICLE + _NAME
"""A named feature the gazetteer may lack: "forêt de Compiègne", "Val d'Orcia", "Wadi As-Sirhan"."""
_WATER_WORD = (
    r"(?:[Ll]ake|[Ll]ac|[Ll]ago|[Ll]och|[ÉéEe]tang|[Rr][eé]servoir|[Ll]agoon|[Ll]agune|[Bb]ay|[Bb]aie|[Gg]olfe|"
    r"[Gg]ulf)"
)
_WATER_BODY = re.compile(r"\b" + _WATER_WORD + r"\s+(?:(?:de|du|des|of|of the)\s+|d['’])?$")
"""A water-body word just before a gazetteer name ("Lake Kariba", "lac d'Annecy"): the place is the water body."""


_LOCATIVE = re.compile(
    r"(?:\b(?:in|at|near|around|over|towards?|of|for|a|au|aux|en|pres de|pres d'|autour de|autour d'|sur|dans|de|"
    r"du|d'|vers)\s*)$"
)


_STRONG_LOCATIVE = re.compile(
    r"(?:\b(?:in|at|near|around|over|towards?|a|au|aux|en|pres de|autour de|sur|dans|vers)\s*)$"
)
_TRAILING_PLACE = re.compile(
    r"(?i:\b(?:at|in|near|around|a|à|au|en|pres de|près de|autour de|sur|dans)\s+)"
    r"([a-zà-ÿ][\w'’-]*(?:[\s-]+[a-zà-ÿ][\w'’-]*){0,3})\s*[?!.]*\s*$"
)
_CUE_WORDS = re.compile(
    r"\b(?:there|here|it|them|ici|la|image|images|imagery|photo|picture|scene|scenes|area|zone|total|all|tout|"
    r"the|le|les|des|city|ville|port|harbou?r|general|moyenne|average|alors|then|instead|plutot|donc|ok|okay|"
    r"table|tableau|geojson|csv|pdf)\b"
)


def _is_name(name: str) -> bool:
    words = name.split()
    if len(words) > 1 and words[0] in ("La", "Le", "Les"):  # "de La Mède": a capital article opens the name
        return fold(words[1]) not in NOT_PLACES
    return fold(words[0]) not in NOT_PLACES


def _fallback_place(text: str, countries: Sequence[str] = ()) -> str | None:
    """A place name the gazetteer lacks.

    Tried in order: a named lake/forest/bay, a capitalised name after a preposition or mid-sentence, a lower-case
    phrase ending the question after "at"/"à" ("combien de cuves a fos sur mer"). The geocoder decides
    later whether it exists (an unknown name leads to a clarifying question). ``countries`` (names the
    gazetteer read as countries) are skipped: "autour de Maripasoula en Guyane" is about Maripasoula.
    """
    if m := re.search(_FEATURE, text):
        return m.group().strip()
    for m in re.finditer(_PREP + "(" + _NAME + ")", text):
        if _is_name(name := m.group(1).strip(" '’")) and fold(name) not in countries:
            return _plural_article(text[m.start() : m.start(1)]) + _with_trailing_term(text, m.start(1), name)
    for m in re.finditer(r"(?<=[a-zà-ÿ,] )" + _NAME + r"|^" + _NAME + r"(?=\s+(?i:" + TRAILING_TERMS + r")\b)", text):
        if _is_name(name := m.group().strip(" '’")) and not name.isupper() and fold(name) not in countries:
            return _with_trailing_term(text, m.start(), name)
    m = _TRAILING_PLACE.search(text)
    if m and not _CUE_WORDS.search(fold(m.group(1))) and not find_object(fold(m.group(1))):
        words = [w for w in re.findall(r"[^\W\d_]+", m.group(1).lower()) if len(w) > 1 and w not in FUNCTION_WORDS]
        if words and not all(common_word(w) for w in words):  # "à quai", "sur combien d'hectares": not a place
            return m.group(1).strip()
    return None


def _preposition_before(text: str, start: int) -> str:
    m = re.search(r"(?i:\b(au|du|aux))\s+$", text[:start])
    return m.group(1) if m else ""


def _known(name: str) -> bool:
    from geovigie.tools.places import get_gazetteer

    return bool(get_gazetteer().candidates(fold(name).lower()).places)


def _contracted_article(preposition: str) -> str:
    """The article a French contraction holds: "au Luc" is at Le Luc, "aux Pennes-Mirabeau" at Les Pennes-Mirabeau.

    Only for names the gazetteer lacks (it restores the article of the names it knows itself).
    """
    word = fold(preposition).strip().lower()
    return "Le " if word in ("au", "du") else "Les " if word == "aux" else ""


def _plural_article(preposition: str) -> str:
    """The article "Les " for a name the gazetteer lacks after "aux" ("aux Pennes-Mirabeau").

    A singular "au/du" says less: "du Larzac" is the Larzac, "du Tréport" Le Tréport, and only the gazetteer knows
    which (:func:`_known`).
    """
    return "Les " if fold(preposition).strip().lower() == "aux" else ""


def _with_trailing_term(text: str, start: int, name: str, *, known: bool = False) -> str:
    """A name with the generic term that closes it ("Kangaroo Island", "Pinal Airpark").

    For a name the gazetteer knows (``known``), a lower-case term is description ("rhodes island wildfires")
    unless the gazetteer knows the whole phrase.
    """
    from geovigie.tools.places import get_gazetteer

    end = trailing_term(text, start + len(name))
    term = text[start + len(name) : end].strip()
    if (
        known
        and term
        and not term[:1].isupper()
        and not naming_term(term)
        and not get_gazetteer().candidates(fold(text[start:end])).places
    ):
        end = start + len(name)
    return text[start:end].strip()


def _query_text(match: Any, *, region_use: bool = False) -> str:
    """The place phrase to geocode: the name as written, without its country qualifier.

    ``region_use``: the name follows French "en" ("en Bresse"), which names a region, never a town: the town's
    article ("La Bresse") is not restored.
    """
    from geovigie.tools.places import split_qualifier

    text = str(match.text)
    if match.country_filter:
        text = split_qualifier(text)[0]
    best = match.candidates[0].name if match.candidates else text
    extra = fold(best)[: -len(fold(text))].strip() if fold(best).endswith(fold(text)) else ""
    if extra and not region_use and re.fullmatch(r"(?:le|la|les|l'|the|el|los|las|al|il|lo)", extra):
        return str(best)  # "port du Havre" matched "Havre": the place is "Le Havre" (not "Departement du ...")
    return text


def _town_beside(text: str, river: Any, countries: Sequence[Any]) -> str | None:
    """The town a question names besides the river that floods it ("Montereau, crue de la Seine")."""
    outside = blank_span(text, river.start, river.start + len(str(river.text)))
    opening = re.match(r"^\s*([A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)*)\s*[:,(]", outside)
    town = _fallback_place(outside, [fold(str(m.text)) for m in countries]) or (opening and opening.group(1))
    return expand_phrase(text, town) if town and not common_word(town.lower()) else None


def blank_span(text: str, start: int, end: int) -> str:
    """``text`` with ``text[start:end]`` replaced by spaces (offsets kept)."""
    return text[:start] + " " * (end - start) + text[end:]


def _from_match(text: str, best: Any, country_hint: str | None) -> tuple[str, str | None, tuple[str, ...]]:
    """The place phrase around the gazetteer's chosen match: grown, a water body, an article restored, or as is."""
    options = tuple(f"{c.name} ({c.country_code})" for c in best.candidates) if best.ambiguous else ()
    span = grown_span(text, best)
    if not best.country_filter and span != (best.start, best.start + len(str(best.text))):
        grown = re.sub(r"^(?:le|la|les|l['’])\s*(?=[A-ZÀ-Ý])", "", text[span[0] : span[1]].strip())  # "le Puy de Dôme"
        # "Bussy-Saint-Georges": not the gazetteer's
        return _plural_article(_preposition_before(text, span[0])) + grown, country_hint, ()
    if not best.country_filter and (water := _WATER_BODY.search(text[: best.start])):
        # "Lake Kariba" is the lake, not the town it is named after: geocode the whole name (plan_run retries
        # with the bare name when the offline gazetteer lacks it)
        return text[water.start() : best.start + len(best.text)].strip(), country_hint, ()
    article = _contracted_article(_preposition_before(text, best.start))
    if article and not best.country_filter and _known(article + str(best.text)):
        return article + str(best.text), country_hint, ()  # "au Luc" is Le Luc, not the "Luc" of Łódź
    region_use = bool(re.search(r"(?i:\ben)\s+$", text[: best.start]))
    return _query_text(best, region_use=region_use), best.country_filter or country_hint, options


def read_place(text: str, finder: PlaceFinder | None) -> tuple[str | None, str | None, tuple[str, ...], str | None]:
    """(place query, country code, ambiguous options, region qualifier) from the blanked question."""
    matches = [m for m in (finder(text) if finder else []) if m.candidates]
    place, country, options = _read_place(text, matches)
    if place and (bare := re.sub(r"['’]s?$", "", place)) != place and len(bare) > 2:
        place = bare  # "lake Tana's water surface": the possessive is the sentence's, not the name's
    if (
        place
        and country
        and any(
            m.candidates[0].kind == "country"
            and m.candidates[0].country_code == country
            and fold(str(m.text)) in fold(place)
            for m in matches
        )
    ):
        country = None  # "le delta intérieur du Niger" is the feature, not a place in the country Niger
    region = region_beside(text, place, matches) if place else None
    if place and not country and (at := text.find(place)) >= 0:
        end = at + len(place)  # "le Chocó colombien", "Morondava (ouest malgache)": a demonym beside the place
        country = named_country(text, start=end, end=end + 30)
    if region:
        country = country or str(region.candidates[0].country_code)
        options = ()  # the geocoder settles the homonym with the region
    return place, country, options, str(region.text) if region else None


_POSSESSIVE = re.compile(r"^['’]s?\s+([A-ZÀ-Ý][\w'’-]*(?:\s+[A-ZÀ-Ý][\w'’-]*)*)")
"""A place named by its region's possessive: "Svalbard's Longyearbyen", "Lagos' Eko Atlantic"."""


def _possessed(text: str, places: Sequence[Any]) -> tuple[str, str | None] | None:
    """(place, country) when a known place is written as the possessor of another name."""
    for m in places:
        if m.candidates[0].kind == "city":
            continue  # "Lyon's Part-Dieu": the district lies in the city the gazetteer knows
        end = m.start + len(str(m.text))
        if (owned := _POSSESSIVE.match(text[end:])) and _is_name(owned.group(1)):
            name = _with_trailing_term(text, end + owned.start(1), owned.group(1))
            return name, str(m.candidates[0].country_code)
    return None


def _read_place(text: str, matches: Sequence[Any]) -> tuple[str | None, str | None, tuple[str, ...]]:
    places = [m for m in matches if m.candidates[0].kind != "country"]
    countries = [m for m in matches if m.candidates[0].kind == "country"]
    country_hint = countries[0].candidates[0].country_code if countries else None
    folded = fold(text)
    if qualified := qualified_name(text, matches):
        return qualified
    if owned := _possessed(text, places + countries):
        return owned[0], owned[1], ()

    def after_locative(start: int) -> bool:
        return bool(_LOCATIVE.search(folded[max(0, start - 14) : start]))

    def strong_locative(start: int) -> bool:
        return bool(_STRONG_LOCATIVE.search(folded[max(0, start - 14) : start]))

    feature = next((f for f in re.finditer(_FEATURE, text) if not in_compound(text, f.start())), None)
    if places:
        # "crue de la Seine à Paris": the place after "à"/"in"/"at" is the area, the one after "de"/"of" a feature
        def rank(m: Any) -> tuple[bool, bool, int]:
            # "Vernon (Eure), crue de la Seine": a river after "de" is what floods, the town is the area
            river = m.candidates[0].kind == "river" and not strong_locative(m.start)
            return after_locative(m.start) and not river, strong_locative(m.start), -m.start

        best = max(places, key=rank)
        if (
            best.candidates[0].kind == "river"
            and not strong_locative(best.start)
            and (town := _town_beside(text, best, countries))
        ):
            return town, country_hint, ()
        if feature and after_locative(feature.start()) and not after_locative(best.start):
            return feature.group().strip(), country_hint, ()  # "levels at Lake Mead", not the town "Reservoir"
        inside = feature and feature.start() <= best.start and best.start + len(str(best.text)) <= feature.end()
        if feature and inside and not surroundings(text, feature.start(), best):
            return feature.group().strip(), country_hint, ()  # "Val d'Orcia", not the town "Wald" in "Val d"
        return _from_match(text, best, country_hint)
    if fallback := _fallback_place(text, [fold(str(m.text)) for m in countries]):
        return expand_phrase(text, fallback), country_hint, ()
    if beside := before_country(text, countries):
        return beside[0], beside[1], ()
    if countries:  # "saint-martin-vesubie" is a village, not the country Saint Martin
        return expand_phrase(text, str(countries[0].text)), None, ()
    if residual := residual_place(text):
        return residual, None, ()
    return None, None, ()


_LOWER_FEATURE = re.compile(
    r"\b(?:lac|lake|etang|étang|baie|bay|mont|mount|ile|île|golfe|gulf|delta|massif|plateau|causse|marais)\s+"
    r"(?:(?:de la|de l'|des|du|de|d'|of the|of)\s*)?[a-zà-ÿ][\w'’-]{3,}(?:[\s-][a-zà-ÿ][\w'’-]{3,})?",
)
"""A named feature written in lower case (capitalised ones are read by :func:`_fallback_place`)."""


_LOWER_NAMED = re.compile(
    r"\b((?:[a-zà-ÿ][\w'’-]{2,}\s+)?[a-zà-ÿ][\w'’-]{2,})\s+(?:" + TRAILING_TERMS + r")\b(?!\s+(?:of|de|du)\b)"
)
"""A lower-case name closed by a generic term; one of its words must be rare ("the river" is no place)."""


def residual_place(text: str) -> str | None:
    """A place named without a preposition or capital ("paiporta flooding", "Lahaina fire", "Crau: land cover").

    What is left of the question once its topic words (every intent cue, object and function word) are removed
    is looked up in the gazetteer, longest run first; a capitalised run before a colon is kept even when the
    gazetteer lacks it, so that the geocoder can say it does not know it ("Zeribania: has it sprawled?").
    """
    from geovigie.agent.offline.intents import _EN_WORDS, _FR_WORDS, INTENT_CUES, OBJECT_SYNONYMS
    from geovigie.tools.places import STOPWORDS, get_gazetteer

    if m := _LOWER_FEATURE.search(text):  # "lac de serre-poncon", "lake annecy": the geocoder decides
        return m.group().strip()
    for m in _LOWER_NAMED.finditer(text):  # "bouvet island", "mar chiquita lagoon": rare words closed by a term
        words = m.group(1).split()
        while words and fold(words[0]).lower() in FUNCTION_WORDS:  # "the okefenokee swamp"
            words = words[1:]
        name = " ".join(words)
        rare = any(not common_word(w.lower()) for w in words)
        if rare and not get_gazetteer().candidates(fold(name).lower()).places:  # "rhodes island" is Rhodes
            return text[m.start(1) + m.group(1).index(name) : m.end()].strip()
    folded = fold(text).lower()
    cues = [p for patterns in INTENT_CUES.values() for p, _ in patterns] + list(OBJECT_SYNONYMS.values())
    for pattern in cues:
        folded = re.sub(pattern, lambda m: " " * len(m.group()), folded)  # same length: spans stay valid
    tokens = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[a-z][a-z'-]*", folded)]
    common = FUNCTION_WORDS | _EN_WORDS | _FR_WORDS | STOPWORDS
    gaz = get_gazetteer()
    for n in (4, 3, 2, 1):
        for i in range(len(tokens) - n + 1):
            run = tokens[i : i + n]
            if any(folded[x[1] : y[0]].strip() for x, y in zip(run, run[1:], strict=False)):
                continue  # a removed cue word sits between them
            if run[0][2] in FUNCTION_WORDS or run[-1][2] in FUNCTION_WORDS:
                continue
            name = text[run[0][0] : run[-1][1]].strip()
            if n == 1 and (run[0][2] in common or common_word(run[0][2]) or common_word(name.lower())):
                continue  # "level", "will", "même": words, not towns
            if len(name) >= 4 and gaz.candidates(fold(name)).places:
                return _with_trailing_term(text, run[0][0], name, known=True)
    # a capitalised name opening the question before a colon or comma ("Zeribania: ...", "chantier NEOM : ...")
    if m := re.match(r"^\s*(?:[a-zà-ÿ]+\s+)?([A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)*)\s*[:,]", text):
        if not common_word(m.group(1).lower()):
            return m.group(1)
    return None
