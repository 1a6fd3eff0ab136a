"""find_place_in_text on French/English questions, and the phrase helpers."""

from __future__ import annotations

import time

import pytest

from geovigie.tools.places.gazetteer import fold, get_gazetteer
from geovigie.tools.places.text import find_place_in_text, split_qualifier, strip_prefixes


@pytest.fixture(scope="module", autouse=True)
def _index() -> None:
    get_gazetteer()


def _found(text: str) -> list[tuple[str, str]]:
    return [(m.text, m.candidates[0].country_code) for m in find_place_in_text(text)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Combien de bâtiments neufs à Bordeaux depuis 2016 ?", [("Bordeaux", "FR")]),
        ("Has the water extent near Orihuela grown since the storm?", [("Orihuela", "ES")]),
        ("How many ships are in the port of Marseille?", [("Marseille", "FR")]),
        ("Quelle surface a brûlé près de Séville en août ?", [("Séville", "ES")]),
        ("Y a-t-il des navires dans le port du Havre ?", [("Havre", "FR")]),
        ("Compare Rotterdam with Anvers", [("Rotterdam", "NL"), ("Anvers", "BE")]),
        ("how many buildings in bordeaux?", [("bordeaux", "FR")]),
        ("Show the fields around Aix-en-Provence", [("Aix-en-Provence", "FR")]),
        ("Floods in the USA and the UK?", [("USA", "US"), ("UK", "GB")]),
        ("Inondations aux États-Unis et en Espagne", [("États-Unis", "US"), ("Espagne", "ES")]),
    ],
)
def test_finds_places_in_questions(question: str, expected: list[tuple[str, str]]) -> None:
    assert _found(question) == expected


def test_spans_point_at_the_text() -> None:
    text = "Has the water extent near Orihuela grown since the storm?"
    (m,) = find_place_in_text(text)
    assert text[m.start : m.end] == "Orihuela" and m.key == "orihuela" and not m.ambiguous


@pytest.mark.parametrize(
    "question",
    [
        "Can you show me the most recent image?",
        "Nice weather today: count the green fields since March 2023.",
        "Split the area in two and compare the time series.",
        "Reading the map, how much forest is left?",
        "Is the port open? Date of the last clear scene?",
        "Montre-moi la plage et le port en mai.",
        "What is the NDVI from SAR and MSI data?",
    ],
)
def test_common_words_are_not_places(question: str) -> None:
    assert find_place_in_text(question) == []


def test_capitalised_mid_sentence_common_word_is_a_place() -> None:
    assert _found("Were there floods in Nice and Split last year?") == [("Nice", "FR"), ("Split", "HR")]


def test_qualifier_is_merged_into_one_filtered_match() -> None:
    (m,) = find_place_in_text("Y a-t-il eu des inondations à Valence en Espagne ?")
    assert m.text == "Valence en Espagne" and m.country_filter == "ES"
    assert m.candidates[0].name == "Valencia" and m.candidates[0].country_code == "ES"
    (m,) = find_place_in_text("Flooding in Valencia, Spain since October?")
    assert m.text == "Valencia, Spain" and m.candidates[0].country_code == "ES"
    (m,) = find_place_in_text("Compare Paris (Texas) today")
    assert m.text == "Paris (Texas)" and m.candidates[0].admin1 == "TX"


def test_ambiguous_names_are_flagged() -> None:
    (m,) = find_place_in_text("Is the reservoir near Valencia lower?")
    assert m.ambiguous and {c.country_code for c in m.candidates} >= {"ES", "VE"}


def test_scan_is_fast_after_index_build() -> None:
    questions = [
        "Combien de bâtiments neufs à Bordeaux depuis 2016 ?",
        "Has the water extent near Orihuela grown since the storm of September 2019 in Spain?",
        "How many ships are in the port of Marseille compared with the port of Le Havre last summer?",
    ] * 10
    start = time.perf_counter()
    for q in questions:
        find_place_in_text(q)
    assert (time.perf_counter() - start) / len(questions) < 0.05


def test_strip_prefixes_keeps_raw_phrase_first() -> None:
    assert strip_prefixes(fold("port du Havre")) == ["port du havre", "le havre", "havre"]
    assert strip_prefixes(fold("près du port de Marseille"))[-1] == "marseille"
    assert strip_prefixes(fold("Port of Spain"))[0] == "port of spain"


def test_split_qualifier_forms() -> None:
    assert split_qualifier("Valencia, Spain") == ("Valencia", "Spain")
    assert split_qualifier("Valencia (Espagne)") == ("Valencia", "Espagne")
    assert split_qualifier("Valence en Espagne ?") == ("Valence", "Espagne")
    assert split_qualifier("Orihuela") == ("Orihuela", None)
