import sqlite3

import pytest
from shapely.geometry import Point, box

from geovigie.tools.places.geocode import resolve_place
from geovigie.tools.places.minor import MinorIndex


def _inside(bbox, lon, lat):
    return box(*bbox).contains(Point(lon, lat))


def test_small_towns_below_the_main_tier_are_found():
    found = resolve_place("Saint-Émilion")  # about 2,000 inhabitants
    assert (found.name, found.kind, found.country_code) == ("Saint-Émilion", "city", "FR")
    assert 1_000 <= (found.population or 0) < 15_000
    assert _inside(found.bbox, -0.155, 44.894)


@pytest.mark.parametrize(
    ("query", "country", "points"),
    [
        ("Gironde", "FR", [(-0.58, 44.84), (-1.17, 44.66), (-0.25, 45.16)]),  # Bordeaux, Arcachon, Blaye
        ("Bretagne", "FR", [(-1.68, 48.11), (-4.49, 48.39), (-3.37, 47.75)]),  # Rennes, Brest, Lorient
        ("Nouvelle-Aquitaine", "FR", [(-0.58, 44.84), (1.26, 45.83), (0.34, 46.58)]),  # Bordeaux, Limoges, Poitiers
        ("Andalousie", "ES", [(-5.98, 37.39), (-4.42, 36.72), (-3.60, 37.18)]),  # Seville, Malaga, Granada
        ("Toscane", "IT", [(11.25, 43.77), (10.40, 43.72)]),  # Florence, Pisa
    ],
)
def test_regions_cover_their_towns(query, country, points):
    found = resolve_place(query)
    assert (found.kind, found.country_code) == ("region", country)
    for lon, lat in points:
        assert _inside(found.bbox, lon, lat), (query, lon, lat)
    assert any("not its boundary" in n for n in found.notes)


def test_a_stale_index_is_detected(tmp_path):
    path = tmp_path / "minor.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        con.execute("INSERT INTO meta VALUES ('version', '0/old')")
    assert MinorIndex(path)._fresh() is False
    path.write_bytes(b"not a database")
    assert MinorIndex(path)._fresh() is False
    assert MinorIndex(tmp_path / "missing.sqlite")._fresh() is False
