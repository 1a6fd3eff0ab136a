"""The offline GeoNames index: folding, ranking and ambiguity, bbox sizing, countries and states."""

from __future__ import annotations

import pytest

from geovigie.tools.places.extent import bbox_around
from geovigie.tools.places.gazetteer import fold, get_gazetteer, radius_km_for_population


def test_fold_strips_accents_case_and_punctuation() -> None:
    assert fold("Saint-Étienne") == "saint etienne"
    assert fold("Séville") == fold("SEVILLE") == "seville"
    assert fold("Côte d’Ivoire") == "cote d ivoire"
    assert fold("Łódź") == "lodz" and fold("Ærøskøbing") == "aeroskobing"


def test_index_is_cached_per_process() -> None:
    assert get_gazetteer() is get_gazetteer()


def test_official_name_beats_alternate_name() -> None:
    gaz = get_gazetteer()
    valence = gaz.candidates("valence")
    assert valence.places[0].country_code == "FR" and not valence.ambiguous
    # ... unless the alternate is 20x more populous, in another country: then it is ambiguous
    vienne = gaz.candidates("vienne")
    assert vienne.ambiguous and {p.country_code for p in vienne.places} >= {"FR", "AT"}


def test_population_ratio_decides_ambiguity() -> None:
    gaz = get_gazetteer()
    assert gaz.candidates("valencia").ambiguous  # VE 1.6M vs ES 0.8M
    assert not gaz.candidates("paris").ambiguous  # FR 2.1M vs US 25k
    assert not gaz.candidates("valencia", country="ES").ambiguous


def test_city_named_like_a_state_wins() -> None:
    places = get_gazetteer().candidates("new york").places
    assert places[0].name == "New York City" and places[1].kind == "state"


def test_radius_heuristic() -> None:
    assert radius_km_for_population(15_000) == 3.0
    assert radius_km_for_population(50_000_000) == 25.0
    assert radius_km_for_population(800_000) == pytest.approx(10.1, abs=0.1)
    assert radius_km_for_population(400_000) < radius_km_for_population(1_600_000)


def test_bbox_around_is_square_on_the_ground() -> None:
    w, s, e, n = bbox_around(60.0, 10.0, 10.0)
    assert (n - s) * 111.32 == pytest.approx(20.0, rel=1e-3)
    assert (e - w) * 111.32 * 0.5 == pytest.approx(20.0, rel=1e-3)  # cos(60°) = 0.5


def test_country_lookup_by_code_and_names() -> None:
    gaz = get_gazetteer()
    assert gaz.country_code("ES") == gaz.country_code("ESP") == gaz.country_code("Espagne") == "ES"
    assert gaz.country_code("États-Unis") == gaz.country_code("USA") == "US"
    assert gaz.country_code("Royaume-Uni") == "GB" and gaz.country_code("Narnia") is None
    assert gaz.state_code("Californie") == gaz.state_code("california") == "CA"


def test_suggestions_are_close_names() -> None:
    assert "Orihuela (ES)" in get_gazetteer().suggest("orihuella")
