"""Countries named by demonyms, regular (by their stem) or irregular (by a table)."""

from __future__ import annotations

from datetime import date

import pytest

from geovigie.agent.offline.countries import demonym_country, named_country
from geovigie.agent.offline.understanding import understand


@pytest.mark.parametrize(
    ("word", "code"),
    [("peruvian", "PE"), ("ecuadorienne", "EC"), ("tunisienne", "TN"), ("japonais", "JP"), ("iraqi", "IQ"),
     ("malgache", "MG"), ("néerlandais", "NL"), ("guadeloupéenne", None), ("inondées", None), ("urbaine", None)],
)  # fmt: skip
def test_a_demonym_names_its_country_and_ordinary_words_name_none(word: str, code: str | None) -> None:
    assert demonym_country(word) == code


def test_a_language_is_not_a_country() -> None:
    assert named_country("answer in English please") is None
    assert named_country("non, la ville chilienne") == "CL"


def test_a_demonym_beside_the_place_gives_its_country() -> None:
    u = understand("déforestation dans la Chiquitanía bolivienne depuis 2015", today=date(2026, 12, 2))
    assert u.country == "BO"
