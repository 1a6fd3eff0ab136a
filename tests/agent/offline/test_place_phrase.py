"""Feature phrases: a generic term before or after a name belongs to the place phrase the geocoder gets."""

from __future__ import annotations

from datetime import date

import pytest

from geovigie.agent.offline.place_phrase import bare_name
from geovigie.agent.offline.understanding import understand

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("déboisement en forêt de Tronçais depuis 2018", "forêt de Tronçais"),  # the forest, not a town in it
        ("occupation du sol du Val d'Aran", "Val d'Aran"),  # not the town the gazetteer finds in "Val d"
        ("incendie au Cap Ferret en 2022", "Cap Ferret"),
        ("palm groves along Wadi Hanifa", "Wadi Hanifa"),
        ("Fraser Island bushfire 2020", "Fraser Island"),  # a capitalised closing term is part of the name
        ("lake titicaca water level 2021", "lake titicaca"),  # lower case, known whole: no trailing word
        ("fort lauderdale flooding april 2023", "fort lauderdale"),  # several lower-case words of one name
        ("combien de navires dans le port de Marseille", "Marseille"),  # a port is a facility, not a feature
        ("growth in the Konza Technopolis since 2015", "Konza Technopolis"),  # capitals after a small town's name
        ("combien de cuves au port de La Pallice ?", "La Pallice"),  # a capital article opens the name
        ("sprawl of Greater Cairo since 2000", "Cairo"),  # a big city keeps its own name
        ("feux à Gonfaron Var en 2021", "Gonfaron"),  # the Var is the département, not more of the name
        ("the Sentinel Lyon scene, clouds?", "Lyon"),  # a sensor never opens a name
    ],
)
def test_the_place_phrase_keeps_its_generic_term(question: str, place: str) -> None:
    assert understand(question, today=TODAY).place == place


def test_a_lower_case_term_after_a_known_town_is_description() -> None:
    # "rhodes island" is Rhodes; the gazetteer does not know an island of that name
    assert understand("crete island wildfires july 2023", today=TODAY).place == "crete"


def test_a_land_term_before_a_big_city_describes_its_surroundings() -> None:
    assert understand("la forêt de Manaus a-t-elle reculé depuis 2015 ?", today=TODAY).place == "Manaus"


def test_bare_name_drops_the_generic_term_on_either_side() -> None:
    assert bare_name("forêt de Tronçais") == "Tronçais"
    assert bare_name("Fraser Island") == "Fraser"
    assert bare_name("Lake Kariba") == "Kariba"
    assert bare_name("Orihuela") is None


def test_a_name_the_gazetteer_lacks_is_qualified_by_the_region_after_it() -> None:
    u = understand("Zeballos, British Columbia wildfire july 2023", today=TODAY)
    assert (u.place, u.country) == ("Zeballos", "CA")
    u = understand("clearing in the dry chaco, paraguay, since 2019", today=TODAY)
    assert (u.place, u.country) == ("dry chaco", "PY")
    assert understand("deforestation, Brazil, since 2019", today=TODAY).place != "deforestation"


def test_a_river_after_de_is_what_floods_not_the_area() -> None:
    assert understand("Montereau, crue de la Seine en juin 2016", today=TODAY).place == "Montereau"


def test_a_contracted_article_is_restored_only_where_the_gazetteer_knows_the_name() -> None:
    assert understand("incendie au Luc en 2021", today=TODAY).place == "Le Luc"  # not the "Luc" of Łódź
    assert understand("verdure du Larzac en juin", today=TODAY).place == "Larzac"  # the region takes no article
    assert understand("feu aux Pennes-Mirabeau en 2016", today=TODAY).place == "Les Pennes-Mirabeau"


def test_named_woods_and_parks_keep_their_term_and_a_question_tail_is_no_place() -> None:
    assert understand("combien d'arbres au bois de Vincennes", today=TODAY).place == "bois de Vincennes"
    assert understand("et ça a brûlé sur combien d'hectares au total ?", today=TODAY).place is None


def test_a_lower_case_rare_name_closed_by_a_generic_term_is_the_place() -> None:
    assert understand("show me tromelin island", today=TODAY).place == "tromelin island"
    assert understand("water in the okefenokee swamp in 2024", today=TODAY).place == "okefenokee swamp"
    assert understand("flooding along the river in 2024", today=TODAY).place is None  # no rare word: no place


def test_a_name_taken_back_is_not_the_place() -> None:
    u = understand("burn scars near Bodrum... sorry, Fethiye, summer 2023", today=TODAY)
    assert u.place == "Fethiye" and u.intent == "burn"
    assert understand("inondations à Tours, non, à Blois en 2024", today=TODAY).place == "Blois"
    assert understand("burn scars in Var, 2022", today=TODAY).place == "Var"  # a comma alone takes nothing back


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("vegetation in the Fergana valley, may 2024", "Fergana valley"),  # a valley names a region, never a town
        ("flooding in Odesa oblast in 2023", "Odesa oblast"),
        ("water in the Qattara depression", "Qattara depression"),
        ("décris la dune de Bonne-Anse", "dune de Bonne-Anse"),
        ("occupation du sol du Val di Sole", "Val di Sole"),
        ("crue dans le delta intérieur du Saloum", "delta intérieur du Saloum"),  # an adjective before the particle
        ("how many cars at the Mall of America", "Mall of America"),
    ],
)
def test_naming_terms_particles_and_adjectives_stay_in_the_phrase(question: str, place: str) -> None:
    assert understand(question, today=TODAY).place == place


def test_a_country_inside_a_feature_phrase_is_not_its_country() -> None:
    u = understand("étendue des eaux dans le delta intérieur du Niger en 2024", today=TODAY)
    assert (u.place, u.country) == ("delta intérieur du Niger", None)


def test_a_possessive_region_places_the_name_after_it() -> None:
    u = understand("latest image of Sicily's Lampedusa", today=TODAY)
    assert u.place == "Lampedusa" and u.country == "IT"
    assert understand("count buildings near Lyon's Part-Dieu", today=TODAY).place == "Lyon"  # a city's district


def test_a_lower_case_town_before_its_country() -> None:
    u = understand("flood in tobruk libya in 2023", today=TODAY)
    assert (str(u.place).lower(), u.country) == ("tobruk", "LY")


def test_a_state_after_a_homonym_settles_it_as_a_region_slot() -> None:
    u = understand("burnt area around Paradise California, november 2018", today=TODAY)
    assert (u.place, u.country, u.region, u.place_options) == ("Paradise", "US", "California", ())
    assert understand("et à Rennes ?", today=TODAY).region is None
