"""What the catalog knows about each item, in the words people use to name images.

Item ids say little: ``spacenet-road_mask_input`` does not say "Las Vegas", ``dota-P1888`` does not say when it
was taken. People name images by what the catalog records about them: where ("the Las Vegas SpaceNet image"),
when ("la scène slovène du 31 juillet"), which sensor or collection. :func:`facts_of` turns one catalog row
(id, collection, date, footprint, STAC properties) into those words: the nearest gazetteer city to the
footprint's centre when it lies within :data:`NEAR_KM`, its country as ``cc:XX``, the collection and platform
tokens, and STAC ``title`` / ``keywords``. :mod:`geovigie.agent.offline.linking` scores them beside the id's own
tokens.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from geovigie.agent.offline.dates import fold
from geovigie.tools.places import get_gazetteer

NEAR_KM = 60.0
"""A footprint centre farther than this from every gazetteer city names no city (open sea, desert)."""
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ItemFacts:
    """The words and the date that name one catalog item."""

    id: str
    day: _dt.date | None
    """Acquisition date from the catalog (None for undated photos)."""
    words: frozenset[str]
    """Folded words: place, ``cc:`` + country code, collection, platform, title and keywords."""


_PHRASE_GLUE = frozenset(
    "with and the for from into onto over under not but are principally mainly mostly occupied significant areas "
    "area land patterns other avec les des pour dans sur".split()
)
"""Words that join a class phrase ("land principally occupied by agriculture, with ...") and name nothing."""


def _words(text: str) -> set[str]:
    tokens = _WORD.findall(fold(text).lower())
    joined = {a + b for a, b in zip(tokens, tokens[1:], strict=False)}  # "las vegas" -> "lasvegas"
    words = {t for t in tokens if len(t) >= 3} | joined
    return words | {w[:-1] for w in words if len(w) > 4 and w.endswith("s") and not w.endswith("ss")}  # "peatbogs"


@lru_cache(maxsize=1)
def _cities() -> tuple[np.ndarray, list[tuple[str, str, str]], np.ndarray]:
    places = [p for p in get_gazetteer().places if p.kind == "city"]
    coords = np.radians(np.array([(p.lat, p.lon) for p in places], dtype=np.float64))
    population = np.array([p.population for p in places], dtype=np.int64)
    return coords, [(p.name, p.country_code, p.admin1) for p in places], population


def near_cities(lat: float, lon: float, km: float = NEAR_KM) -> list[tuple[str, str, float, str]]:
    """(name, country code, km, admin1 code) of the closest gazetteer city and of the largest one within ``km``.

    The closest is often a suburb ("Spring Valley" for a Las Vegas scene); people name the city they know.
    Vectorised: a catalog has many items.
    """
    coords, names, population = _cities()
    la, lo = np.radians(lat), np.radians(lon)
    a = np.sin((coords[:, 0] - la) / 2) ** 2 + np.cos(la) * np.cos(coords[:, 0]) * np.sin((coords[:, 1] - lo) / 2) ** 2
    dist = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    closest = int(np.argmin(dist))
    if dist[closest] > km:
        return []
    inside = np.flatnonzero(dist <= km)
    largest = int(inside[np.argmax(population[inside])])
    picks = dict.fromkeys((closest, largest))
    return [(names[i][0], names[i][1], float(dist[i]), names[i][2]) for i in picks]


def _place_words(bbox: tuple[float, float, float, float] | None) -> set[str]:
    if bbox is None:
        return set()
    west, south, east, north = bbox
    lat, lon = (south + north) / 2, (west + east) / 2
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return set()
    words: set[str] = set()
    gaz = get_gazetteer()
    for name, country, _km, admin1 in near_cities(lat, lon):
        words |= _words(name) | {f"cc:{country.lower()}"}
        if country == "US":  # "the Florida NEON photo", "la photo de Floride"
            words |= {w for state in gaz.state_names(admin1) for w in _words(state)}
    return words


def facts_of(
    item_id: str,
    *,
    collection: str = "",
    when: _dt.datetime | _dt.date | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    properties: Mapping[str, Any] | None = None,
    georeferenced: bool = True,
) -> ItemFacts:
    """The naming facts of one catalog item.

    Args:
        item_id: The catalog id.
        collection: Its collection id.
        when: Its acquisition datetime.
        bbox: Its WGS84 footprint box (ignored when the item is not georeferenced).
        properties: STAC properties (``title``, ``keywords``, ``platform``, ``constellation`` are used).
        georeferenced: False for photos without a real footprint.
    """
    props = properties or {}
    words = _words(collection) | (_place_words(bbox) if georeferenced else set())
    for key in ("title", "platform", "constellation"):
        if isinstance(props.get(key), str):
            words |= _words(props[key])
    keywords = props.get("keywords")
    if isinstance(keywords, list):  # label classes are phrases: their linking words name nothing
        words |= {w for k in keywords if isinstance(k, str) for w in _words(k) if w not in _PHRASE_GLUE}
    day = when.date() if isinstance(when, _dt.datetime) else when
    return ItemFacts(item_id, day, frozenset(words))


def facts_by_id(rows: Iterable[ItemFacts]) -> dict[str, ItemFacts]:
    """Index facts by item id."""
    return {f.id: f for f in rows}


def row_facts(row: Any) -> ItemFacts:
    """Facts of one catalog row (:class:`geovigie.core.db.models.CatalogItem`)."""
    box = (row.west, row.south, row.east, row.north)
    bbox = box if all(v is not None for v in box) else None
    stac = row.stac if isinstance(row.stac, dict) else {}
    props = stac.get("properties") if isinstance(stac.get("properties"), dict) else {}
    return facts_of(
        row.id,
        collection=row.collection or "",
        when=row.datetime,
        bbox=bbox,  # type: ignore[arg-type]
        properties=props,
        georeferenced=bool(row.georeferenced),
    )
