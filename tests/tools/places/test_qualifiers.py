"""Homonyms settled by a region or city written beside them."""

from geovigie.tools.places import find_place_in_text


def test_a_region_beside_a_homonym_picks_the_place_inside_it():
    for text, country in (("new housing in Hamilton Ontario since 2019", "CA"),
                          ("incendie a Orange (Vaucluse) ete 2025", "FR"),
                          ("nébulosité sur Brest (Finistère)", "FR")):  # fmt: skip
        first = find_place_in_text(text)[0]
        assert not first.ambiguous and first.country_filter == country, text
        assert [c.country_code for c in first.candidates] == [country]


def test_no_qualifier_keeps_the_ambiguity():
    first = find_place_in_text("floods in Valencia")[0]
    assert first.ambiguous and len({c.country_code for c in first.candidates}) > 1
