import pytest

from geovigie.tools.places.features import FEATURE_KINDS, natural_features, parse_features
from geovigie.tools.places.geocode import resolve_place


def test_bundled_features_are_well_formed():
    features = natural_features()
    assert len(features) > 150
    for f in features:
        w, s, e, n = f.bbox
        assert -180 <= w < e <= 180 and -90 <= s < n <= 90, f.name
        assert f.kind in FEATURE_KINDS and len(f.country_code) == 2
    # most features have a French or local name besides the English one (some, like Loch Ness, are the same)
    assert sum(len(f.names) >= 2 for f in features) >= 0.9 * len(features)


def test_malformed_lines_are_rejected_with_their_line_number():
    with pytest.raises(ValueError, match="line 2"):
        parse_features("# comment\nlake|FR|1,2,3|Nowhere\n")
    with pytest.raises(ValueError, match="bad kind or box"):
        parse_features("volcano|FR|1,2,3,4|Somewhere\n")
    with pytest.raises(ValueError, match="bad kind or box"):
        parse_features("lake|FR|3,2,1,4|Inverted\n")


@pytest.mark.parametrize(
    ("query", "name", "kind"),
    [
        ("Lac Léman", "Lake Geneva", "lake"),
        ("lake geneva", "Lake Geneva", "lake"),
        ("Lac de Grand-Lieu", "Lac de Grand-Lieu", "lake"),
        ("la Loire", "Loire", "river"),
        ("Bassin d'Arcachon", "Arcachon Bay", "bay"),
        ("Vésuve", "Mount Vesuvius", "mountain"),
        ("Forêt des Landes", "Landes forest", "forest"),
    ],
)
def test_natural_features_resolve_in_french_and_english(query, name, kind):
    found = resolve_place(query)
    assert (found.name, found.kind) == (name, kind)
    assert found.population is None
    assert any("hand-curated" in n for n in found.notes)


def test_a_city_keeps_precedence_over_a_feature_of_the_same_name():
    # "Valencia" is a city (and ambiguous between countries), never the Albufera or a region
    found = resolve_place("Valencia")
    assert found.kind == "city" and found.ambiguous
