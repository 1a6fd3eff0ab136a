from datetime import date

from geovigie.agent.offline.periods import Period, find_atoms, fold, month_period

TODAY = date(2025, 6, 15)


def test_fold_keeps_length_and_strips_accents():
    text = "Été à Orihuela, déforestation → 2016"
    folded = fold(text)
    assert len(folded) == len(text)
    assert folded.startswith("ete a orihuela, deforestation")
    assert "→" in folded


def test_atoms_are_in_text_order_and_do_not_overlap():
    text = fold("entre le 2019-06-01 et le 2019-06-30, comparé à 2018")
    atoms = find_atoms(text, TODAY)
    assert [text[a.start : a.end] for a in atoms] == ["2019-06-01", "2019-06-30", "2018"]
    assert [a.unit for a in atoms] == ["day", "day", "year"]


def test_month_of_a_range_without_year_is_marked():
    atoms = find_atoms(fold("from March to May 2023"), TODAY)
    assert atoms[0].month_only == 3
    assert atoms[1].period == month_period(2023, 5)


def test_bare_month_is_the_latest_past_one():
    (atom,) = find_atoms(fold("floods in November"), TODAY)
    assert atom.period == month_period(2024, 11)
    (atom,) = find_atoms(fold("floods in May"), TODAY)
    assert atom.period == month_period(2025, 5)


def test_period_helpers():
    p = Period(date(2024, 2, 1), date(2024, 2, 29))
    assert p.days == 29 and p.iso() == ("2024-02-01", "2024-02-29")
    assert month_period(2024, 2) == p


def _periods(text: str, today: date) -> list[Period]:
    return [a.period for a in find_atoms(fold(text), today)]


def test_months_placed_by_a_relative_word():
    today = date(2026, 12, 2)
    assert _periods("burn scars from last August", today) == [month_period(2026, 8)]
    assert _periods("la crue de décembre dernier", today) == [month_period(2025, 12)]  # December is not over
    assert _periods("clouds in April last year", today) == [month_period(2025, 4)]
    assert _periods("inondations en mars de l'an dernier", today)[-1] == month_period(2025, 3)
    assert _periods("feux en juillet prochain", today) == [month_period(2027, 7)]


def test_a_month_abbreviation_before_a_word_is_a_name():
    today = date(2026, 12, 2)
    assert _periods("water level in mar menor lagoon", today) == []
    assert _periods("floods in feb?", today) == [month_period(2026, 2)]
    assert _periods("crue en mars", today) == [month_period(2026, 3)]


def test_the_monsoon_is_a_season():
    today = date(2026, 12, 2)
    assert _periods("floods during the 2023 monsoon", today) == [Period(date(2023, 6, 1), date(2023, 8, 31))]
    assert _periods("crues à la mousson prochaine", today) == [Period(date(2027, 6, 1), date(2027, 8, 31))]
