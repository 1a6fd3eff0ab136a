"""Homonyms settled by the region or city written beside them: "Hamilton Ontario", "Orange (Vaucluse)".

The country qualifiers ("Valencia, Spain", "Paris (Texas)") are read by :mod:`geovigie.tools.places.text`.
People also qualify a name by its province, département or a nearby city. :func:`settle` takes the candidates of
the ambiguous name and the places the qualifier may mean (gazetteer entries and second-tier regions, which a
city of the same name may shadow: the province of Ontario behind Ontario, California) and keeps the candidate
inside the qualifying region, or the one nearest to a qualifying place when that is clearly closer than any
other pairing.
"""

from __future__ import annotations

from geovigie.tools.places.extent import haversine_km
from geovigie.tools.places.gazetteer import Gazetteer, Place, fold, from_minor

NEAR_KM = 150.0
"""A qualifying place farther than this from every candidate qualifies none of them."""


def _inside(place: Place, region: Place) -> bool:
    if region.bbox is None:
        return False
    west, south, east, north = region.bbox
    return west <= place.lon <= east and south <= place.lat <= north


def _qualifier_places(gaz: Gazetteer, key: str) -> list[Place]:
    places = list(gaz.candidates(key).places)
    if gaz.minor is not None:
        places += [from_minor(p) for p, _tier in gaz.minor.lookup(key)]
    return places


def settle(gaz: Gazetteer, name_key: str, qualifier_key: str) -> Place | None:
    """The one place named ``name_key`` that the qualifier ``qualifier_key`` points at, or None.

    Args:
        gaz: The gazetteer.
        name_key: Folded ambiguous name ("hamilton").
        qualifier_key: Folded qualifier written beside it ("ontario", "vaucluse").
    """
    candidates = [c for c in gaz.candidates(name_key).places if fold(c.name) == name_key]  # not alternate names
    qualifiers = [q for q in _qualifier_places(gaz, qualifier_key) if q.name.lower() != name_key]
    if len(candidates) < 2 or not qualifiers:
        return None
    scored = []
    for c in candidates:
        distance = min(0.0 if _inside(c, q) else haversine_km(c.lat, c.lon, q.lat, q.lon) for q in qualifiers)
        scored.append((distance, -c.population, c))
    scored.sort(key=lambda t: (t[0], t[1]))
    best, runner = scored[0], scored[1]
    if best[0] > NEAR_KM or runner[0] <= max(2 * best[0], 30.0):
        return None
    return best[2]


def qualifier_countries(gaz: Gazetteer, qualifier_key: str) -> set[str]:
    """The countries of the regions, states or countries a qualifier may name ("jura" -> CH and FR).

    For a reply that picks a homonym among offered options by its region ("celle du Jura") when the gazetteer
    cannot place the candidates inside it.
    """
    kinds = ("region", "state", "country")
    return {p.country_code for p in _qualifier_places(gaz, qualifier_key) if p.kind in kinds}
