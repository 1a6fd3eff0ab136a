"""Entity linking of images named the way people name them, against the catalog's item ids.

People rarely type a full catalog id. They write the id's stem without the collection prefix ("P0706",
"SJER_477", "picture 3_4"), the dataset and the place ("the Taizhou Landsat pair", "le chip sen1floods11
espagnol"), or a description with a date ("the 2009 NAIP tile", "la scène slovène du 20 août 2015", "the first
Hong Kong image"). :func:`link_items` scores every known id on the evidence the question gives:

- tokens of the id (split on ``-``, ``_``, ``.``; "hong kong" also matches ``hongkong``), weighted by how rare
  they are among the ids (a token shared by every item of a dataset tells little);
- the item's date (``20150820``, ``2016-11-30`` or a year in the id) inside a period the question names;
- the sensor words ("radar", "SAR", "S1" pick the Sentinel-1 twin; optical is the default);
- ordinals ("first", "deuxième", "latest") among items that tie otherwise.

It links only when the question talks about an image (an image word, a dataset name or a digit-bearing stem), so
"urban growth in Rennes since 2016" stays a question about the place. Items that tie are returned together when
they form a before/after pair (``-A-``/``-B-`` twins, or two dates of one place) and the question compares;
otherwise a tie is reported so the planner can ask which one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from geovigie.agent.offline.dates import DateInfo, fold
from geovigie.agent.offline.intents import OBJECT_SYNONYMS, find_object
from geovigie.agent.offline.item_dates import in_period, item_date, periods_of, yearless_days
from geovigie.agent.offline.item_facts import ItemFacts
from geovigie.agent.offline.mentions import blank
from geovigie.agent.offline.place_reading import NEAR
from geovigie.tools.places import get_gazetteer

IMAGE_WORDS = re.compile(
    r"\b(image|images|img|picture|pictures|pic|pics|photo|photos|scene|scenes|scène|tile|tiles|tuile|tuiles|chip|"
    r"chips|patch|patchs|patches|pair|paire|plot|parcelle|dalle|extrait|crop|orthophoto|ortho|catalog|catalogue|"
    r"version|sample|echantillon|one|ones|celle|celui|site|fichier|file|serie|series|png|jpe?g|tiff?|geotiff|shot|"
    r"snap|snapshot|capture|cliche|vue|view)\b"
)
_RADAR = re.compile(r"\b(radar|sar|s1|sentinel-1|sentinel 1|vv|vh|vv/vh|grd)\b")
_PAIR_WORDS = re.compile(r"\b(pair|paire|both|two|2|deux|les deux|twin|before and after|avant et apres)\b")
"""Words that ask for the two images of a place together ("la paire bordeaux", "its two sentinel images")."""
FIRST_WORDS = re.compile(
    r"\b(first|1st|earliest|older|oldest|premiere|premier|1re|1ere|plus ancienne|before|avant|d'avant)\b"
)
SECOND_WORDS = re.compile(
    r"\b(second|2nd|last|latest|newer|newest|later|deuxieme|2e|2eme|seconde|derniere|dernier|plus recente|after|apres|"
    r"d'apres|recent|more recent|recente|plus recent)\b"
)
_EARLIEST = re.compile(r"\b(first|1st|earliest|oldest|premiere|premier|plus ancienne)\b")
_LATEST = re.compile(r"\b(last|latest|newest|derniere|dernier|plus recente)\b")
_SIDE = re.compile(
    r"(?:[\d_]\s*[,:]?\s*|\b(?:image|version|side|cote|photo|tile|tuile)\s+)(?:(?P<after>b)|a)(?=\s*(?:$|[^\w\s']))"
    r"|\b(?:(?P<after2>after|apres|post|later|second)|before|avant|pre|first|premiere)\s+(?:image|version|photo|one)\b"
    r"|\b(?:image|version|photo)\s+(?:(?P<after3>after|apres|d'apres|post)|before|avant|d'avant)\b"
)
"""The side of an A/B pair a one-image question names ("train_36 B", "the after image", "l'image d'avant")."""
_RELATIVE = re.compile(
    r"\b(last|this|next|past|ago|yesterday|today|dernier|derniere|prochain|prochaine|ce|cet|cette|hier|"
    r"aujourd|depuis|since)\b"
)
"""Relative dates name a year ("last December"), unlike "the 9 sept scene"."""
_ALIASES = {
    "espagne": "spain", "espagnol": "spain", "espagnole": "spain", "spanish": "spain", "slovene": "slovenia",
    "slovenie": "slovenia", "slovenian": "slovenia", "slovenes": "slovenia", "slovenes?": "slovenia",
    "cars": "car", "tanks": "storagetanks", "cuves": "storagetanks",
}  # fmt: skip
"""FR/EN words for the places and contents that item ids spell in English."""
_STOP = frozenset(
    "the le la les de du des of in on a an and et image images img tile chip s2 l1c l2a mask road input sample "
    "geotiff hand byte".split()
)
"""Words that say what is asked, not which image (``spacenet-road_mask_input`` is not a "water mask")."""
FACT_WEIGHT = 0.8
"""Weight of a word from the catalog's facts (place near the footprint, collection) against one in the id."""
MIN_SCORE = 1.5
"""Evidence needed to link: one rare token, or a common one plus a date."""


@dataclass(frozen=True)
class Link:
    """The items a question names."""

    items: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    """Equally good candidates when the question does not say which (the planner asks)."""


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", fold(text).lower()) if t]


def _id_tokens(item: str) -> set[str]:
    """The id's tokens, each pair of neighbours joined ("osbs029" for ``neon-OSBS_029``), numbers unpadded."""
    tokens = _tokens(item)
    unpadded = {t.lstrip("0") for t in tokens if t.isdigit() and t.startswith("0") and t.strip("0")}  # "61"
    joined = {a + b for a, b in zip(tokens, tokens[1:], strict=False) if not (a.isdigit() and b.isdigit())}
    return set(tokens) | joined | unpadded


def _rare_id_word(words: set[str], known_items: Sequence[str]) -> bool:
    """Whether the question writes a word only a few ids spell and that is no place ("SJER", "OSBS-029").

    A site code or a dataset's own word names images even without "image" ("count trees in SJER 2018"); a
    word that is also a place ("paris" of ``oscd-paris-*``) or an everyday word ("train", "test") does not.
    """
    from geovigie.agent.offline.lexicon import common_word

    counts: dict[str, int] = {}
    for item in known_items:
        for t in set(_tokens(item)):
            if t.isalpha() and len(t) >= 4:
                counts[t] = counts.get(t, 0) + 1
    limit = max(3, len(known_items) // 30)
    gaz = get_gazetteer()
    return any(
        0 < counts.get(w, 0) <= limit and not common_word(w) and not gaz.candidates(w).places
        for w in words
        if w not in _STOP
    )


def _country_words(words: set[str]) -> set[str]:
    """``cc:xx`` for the country names among the words ("slovenie", "spain"); never for 2-3 letter codes."""
    gaz = get_gazetteer()
    return {f"cc:{code.lower()}" for w in words if len(w) >= 4 and (code := gaz.country_code(w))}


_MEASURE = re.compile(r"\d+[.,]\d+|\b\d+\s*(?:m|cm|km|ha|m2|km2|%|px|pixels?)\b")
"""Numbers that measure ("the 0.5 m shot", "10 %"): never id tokens."""


def _asked_words(folded: str) -> set[str]:
    """The tokens of the object the question asks about ("water bodies" -> water, bodies, waterbodies, ...)."""
    obj = find_object(folded)
    if obj is None:
        return set()
    m = re.search(r"\b(?:" + OBJECT_SYNONYMS[obj] + r")\b", folded)
    words = _tokens(m.group()) if m else []
    return set(words) | {_ALIASES.get(w, w) for w in words} | {"".join(words), obj, obj.replace("_", "")}


def _question_tokens(folded: str) -> set[str]:
    words = _tokens(_MEASURE.sub(" ", folded))
    joined = {a + b for a, b in zip(words, words[1:], strict=False)}  # "hong kong" -> "hongkong"
    kept = {_ALIASES.get(w, w) for w in words if w not in _STOP and (len(w) >= 3 or any(c.isdigit() for c in w))}
    # the object asked about, by its class name: "navires" meets the keyword "ship" of a labelled image
    obj = find_object(folded)
    return kept | joined | ({obj, obj.replace("_", "")} if obj else set())


def _scores(
    folded: str,
    items: Sequence[str],
    dates: DateInfo,
    facts: Mapping[str, ItemFacts],
    yearless: bool,
    days: Sequence[tuple[int, int | None]] = (),
) -> dict[str, float]:
    words = _question_tokens(folded)
    words |= _country_words(words)
    id_tokens = {i: _id_tokens(i) for i in items}
    item_tokens = {i: id_tokens[i] | set(facts[i].words if i in facts else ()) for i in items}
    frequency: dict[str, int] = {}
    for toks in item_tokens.values():
        for t in toks:
            frequency[t] = frequency.get(t, 0) + 1
    periods = periods_of(dates)
    scores: dict[str, float] = {}
    asked = _asked_words(folded)
    mmdd = {w for w in words if re.fullmatch(r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])", w)}
    stems = set(re.findall(r"[a-z0-9]+(?:_[a-z0-9]+)+", folded))  # "4_4", "test_55": the whole stem, not its digits
    for item, toks in item_tokens.items():
        lowered = item.lower()
        whole = sum(2.0 for st in stems if re.search(r"(?<![a-z0-9])" + re.escape(st) + r"(?![a-z0-9])", lowered))
        hits = [t for t in toks & words if not (t.isdigit() and len(t) == 4 and item_date(item))]
        # "slovenia 0820": a month and day written as the id writes them, without the year
        hits += [t for t in mmdd if any(x.isdigit() and len(x) == 8 and x.endswith(t) for x in id_tokens[item])]
        # a word the id spells ("paris" in oscd-paris-*) outweighs one the catalog infers (Bercy is near Paris)
        weight = {t: 1.0 + math.log(len(items) / frequency.get(t, 1)) / math.log(len(items) + 1) for t in hits}
        inferred = sorted(
            (weight[t] * (0.5 if t in asked else 1.0) for t in hits if t not in id_tokens[item]), reverse=True
        )  # what is asked about ("water bodies") is a weak hint of which image: half the weight
        # the words of one phrase ("water bodies", "waterbodies") are one piece of evidence, not three: past the
        # best, the catalog's inferred words count a quarter each
        score = whole + sum(weight[t] for t in hits if t in id_tokens[item])
        score += FACT_WEIGHT * (sum(inferred[:1]) + 0.25 * sum(inferred[1:]))
        day = facts[item].day if item in facts and facts[item].day else item_date(item)
        year_only = item not in facts and re.search(r"\d{8}|\d{4}-\d{2}", item) is None
        if any(in_period(day, p, year_only, yearless=yearless) for p in periods) or (
            day and any(day.month == m and d in (None, day.day) for m, d in days)
        ):
            score += 1.5
        if score:
            scores[item] = score
    return scores


def _same_day(folded: str, dates: DateInfo, items: Sequence[str], facts: Mapping[str, ItemFacts]) -> bool:
    """Whether the question names a day and a place of one of the catalog's images ("slovenia 11 july 2015")."""
    day = dates.period.start if dates.period and dates.period.start == dates.period.end else None
    if day is None or dates.before:
        return False
    words = _question_tokens(folded)
    words |= _country_words(words)
    return any(f.day == day and words & set(f.words) for i in items if (f := facts.get(i)))


def _official_name(place: str | None) -> str:
    """The gazetteer's name of a place written another way ("Abou Dabi" -> " abu dhabi"), else ""."""
    found = get_gazetteer().candidates(fold(place)).places if place else []
    name = fold(found[0].name).lower() if found else ""
    return " " + name if name and name != fold(place or "").lower() else ""


def _stem_spelled(words: set[str], years: set[str], item: str) -> bool:
    """Whether the question spells the item's id without its collection ("pucallpa 1990").

    Every word of the id after the collection is written, and every number is a year the question names (a
    sensor code may follow it: "taizhou 2000" spells ``landsat-taizhou-2000TM``). ``oscd-rennes-2015-08-21`` is
    not spelled by "rennes 2015": its month and day are not said.
    """
    tokens = _tokens(item)[1:]
    if not tokens or not any(t.isalpha() for t in tokens):
        return False
    for t in tokens:
        if t.isalpha():
            if t not in words:
                return False
        elif not (m := re.fullmatch(r"((?:19|20)\d{2})[a-z]{0,3}", t)) or m[1] not in years:
            return False
    return True


def _pair(items: Sequence[str]) -> tuple[str, ...] | None:
    """Two items that are the before and after of one place (A/B twins or two dates), oldest first."""
    if len(items) != 2:
        return None
    a, b = sorted(items, key=lambda i: (item_date(i) or date.min, i))
    twins = re.sub(r"-[AB]-", "-X-", a) == re.sub(r"-[AB]-", "-X-", b) and "-A-" in a
    same_place = a.rsplit("-", 3)[0] == b.rsplit("-", 3)[0] and item_date(a) != item_date(b)
    return (a, b) if twins or same_place else None


def _by_period(folded: str, candidates: Sequence[str], dates: DateInfo) -> tuple[str, ...] | None:
    """One item per compared date ("the pucallpa pics 1995 -> 2015")."""
    if not (dates.before and dates.after):
        return None
    chosen = []
    for period in (dates.before, dates.after):
        inside = [i for i in candidates if in_period(item_date(i), period, year_only=True)]
        if len(inside) != 1:
            return None
        chosen.append(inside[0])
    return tuple(chosen) if chosen[0] != chosen[1] else None


def _prefer(folded: str, tied: list[str]) -> list[str]:
    """Break ties by sensor (optical unless radar is named) and ordinal words."""
    radar = bool(_RADAR.search(folded))
    twins = [i for i in tied if re.search(r"S1|S2", i)]
    if len(twins) == len(tied) and len(tied) > 1:
        kept = [i for i in tied if ("S1" in i) == radar]
        tied = kept or tied
    if len(tied) > 1 and (FIRST_WORDS.search(folded) or SECOND_WORDS.search(folded)):
        ordered = sorted(tied, key=lambda i: (item_date(i) or date.min, i))
        tied = [ordered[0]] if FIRST_WORDS.search(folded) else [ordered[-1]]
    return tied


def canonical_refs(refs: Sequence[str], known_items: Sequence[str]) -> tuple[str, ...]:
    """File names and stems the question typed ("sample_geotiff.tif"), replaced by the one catalog id they name."""
    out = []
    for ref in refs:
        stem = re.sub(r"\.(tif|tiff|png|jpe?g|jp2|vrt|img)$", "", ref.lower())
        named = [i for i in known_items if re.search(r"(^|[-_/])" + re.escape(stem) + "$", i.lower())]
        out.append(named[0] if ref not in known_items and len(named) == 1 else ref)
    return tuple(out)


def link_items(
    question: str,
    known_items: Sequence[str],
    dates: DateInfo,
    *,
    change: bool,
    facts: Mapping[str, ItemFacts] | None = None,
    force: bool = False,
    place: str | None = None,
) -> Link:
    """The catalog items the question names without their full id.

    Args:
        question: The question (any case and accents); ``dates.spans`` index into it.
        known_items: The catalog's item ids.
        dates: The dates the question names (an item's date inside them is evidence).
        change: Whether the question compares two dates (a tied before/after pair is then the answer).
        facts: What the catalog records of each item (place, date, collection), by id.
        force: Link without an image word (a follow-up in a conversation about images: "and on OSBS?").
        place: The place the question names; its name in the gazetteer also names images ("Abou Dabi" is the
            ``abudhabi`` of an id).
    """
    # The digits of a date ("du 11/07/2015", "9 sept") are evidence of a date, never of an id token.
    said = " ".join(fold(question[a:b]).lower() for a, b in dates.spans)
    yearless = bool(said) and not re.search(r"\d{4}", said) and not _RELATIVE.search(said)
    raw = (
        fold(question).lower().replace("’", "'")
    )  # ordinals stay visible even where read as a date ("la plus récente")
    folded = fold(blank(question, dates.spans)).lower().replace("’", "'")
    days, day_spans = ([], []) if dates.spans else yearless_days(folded)
    folded = blank(folded, day_spans)
    datasets = {i.split("-")[0].lower() for i in known_items}
    # "the two OSCD dates", "the landsat pucallpa pics", "eo-learn" for the eolearn collection
    named = bool(datasets & _question_tokens(folded))
    # "SJER_477", "sample_geotiff", "OSBS-029", "SOAP 61"
    stem = re.search(r"[a-z]+_?\d|\d_\d|[a-z]_[a-z]|\b[a-z]{3,}[ -]\d{2,}\b", folded)
    years = set(re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", said))
    words = set(_tokens(folded))
    # "around Pucallpa 2000 vs 2020" asks about the surroundings (a place to search), not the catalog's epochs
    spelled = bool(years) and not NEAR.search(folded) and any(_stem_spelled(words, years, i) for i in known_items)
    cue = force or named or bool(IMAGE_WORDS.search(folded)) or bool(stem) or spelled
    cue = cue or _same_day(folded, dates, known_items, facts or {})
    if not known_items or not (cue or _rare_id_word(words, known_items)):
        return Link()
    scores = _scores(folded + _official_name(place), known_items, dates, facts or {}, yearless, days)
    if not scores:
        return Link()
    best = max(scores.values())
    if best < MIN_SCORE:
        return Link()
    tied = [i for i, s in scores.items() if s >= best - 1e-9]
    twins = _pair([i for i, s in scores.items() if s >= best - 1.6])
    sides = {bool(m.group("after") or m.group("after2") or m.group("after3")) for m in _SIDE.finditer(raw)}
    if twins and "-A-" in twins[0] and len(sides) == 1:  # "levir val_27, after image", "test_77 B"; not "A and B"
        return Link(items=(twins[1] if sides.pop() else twins[0],))
    if change and (pair := _by_period(folded, [i for i, s in scores.items() if s >= best - 1.5], dates)):
        return Link(items=pair)
    if change and len(tied) > 2 and _EARLIEST.search(raw) and _LATEST.search(raw):  # "the first and the last images"
        ordered = sorted(tied, key=lambda i: (item_date(i) or date.min, i))
        return Link(items=(ordered[0], ordered[-1]))
    tied = _prefer(raw, tied)
    if len(tied) == 1:
        if change and (twin := _pair([i for i, s in scores.items() if s >= best - 1.6])):
            return Link(items=twin)
        return Link(items=(tied[0],))
    pair = _pair(tied)
    if pair and (change or "-A-" in pair[0] or _PAIR_WORDS.search(folded)):
        # A/B twins are a before/after pair by nature; two dates of a place are one when the question says "pair"
        return Link(items=pair)
    return Link(tied=tuple(sorted(tied)))
