from datetime import date

import pytest

from geovigie.agent.offline.dates import RECENT_DAYS, Period, event_window, parse_dates

TODAY = date(2025, 6, 15)


def P(a: str, b: str) -> Period:
    return Period(date.fromisoformat(a), date.fromisoformat(b))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("floods in January 2024", "2024-01-01", "2024-01-31"),
        ("inondations en janvier 2024", "2024-01-01", "2024-01-31"),
        ("in 2019", "2019-01-01", "2019-12-31"),
        ("September 2019", "2019-09-01", "2019-09-30"),
        ("on 2019-09-18", "2019-09-18", "2019-09-18"),
        ("le 18/09/2019", "2019-09-18", "2019-09-18"),
        ("le 12/05/2023", "2023-05-12", "2023-05-12"),
        ("18 septembre 2019", "2019-09-18", "2019-09-18"),
        ("le 1er juin 2023", "2023-06-01", "2023-06-01"),
        ("September 18, 2019", "2019-09-18", "2019-09-18"),
        ("summer 2020", "2020-06-01", "2020-08-31"),
        ("pour l'été 2020", "2020-06-01", "2020-08-31"),
        ("last year", "2024-01-01", "2024-12-31"),
        ("l'année dernière", "2024-01-01", "2024-12-31"),
        ("this year", "2025-01-01", "2025-06-15"),
        ("cette année", "2025-01-01", "2025-06-15"),
        ("last month", "2025-05-01", "2025-05-31"),
        ("yesterday", "2025-06-14", "2025-06-14"),
        ("hier", "2025-06-14", "2025-06-14"),
        ("in the last 3 months", "2025-03-15", "2025-06-15"),
        ("ces 6 derniers mois", "2024-12-15", "2025-06-15"),
        ("over the past two years", "2023-06-15", "2025-06-15"),
        ("la semaine dernière", "2025-06-08", "2025-06-15"),
        ("from the 1990s", "1990-01-01", "1999-12-31"),
    ],
)
def test_single_periods(text, start, end):
    info = parse_dates(text, today=TODAY)
    assert info.period == P(start, end)
    assert not info.is_future


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (date(2025, 6, 15), "2024-06-01", "2024-08-31"),  # summer 2025 has not ended yet
        (date(2025, 9, 10), "2025-06-01", "2025-08-31"),
        (date(2025, 8, 31), "2024-06-01", "2024-08-31"),  # the last day of summer is not "last summer" yet
    ],
)
def test_last_summer_is_the_latest_completed_summer(today, start, end):
    for text in ("last summer", "l'été dernier", "l'ete dernier"):
        assert parse_dates(text, today=today).period == P(start, end)


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("2016 vs 2017", ("2016-01-01", "2016-12-31"), ("2017-01-01", "2017-12-31")),
        ("2016→2017", ("2016-01-01", "2016-12-31"), ("2017-01-01", "2017-12-31")),
        ("2016 -> 2017", ("2016-01-01", "2016-12-31"), ("2017-01-01", "2017-12-31")),
        ("between 2015 and 2017", ("2015-01-01", "2015-12-31"), ("2017-01-01", "2017-12-31")),
        ("entre 2015 et 2017", ("2015-01-01", "2015-12-31"), ("2017-01-01", "2017-12-31")),
        ("pucallpa 2000-2020", ("2000-01-01", "2000-12-31"), ("2020-01-01", "2020-12-31")),
        ("from March to May 2023", ("2023-03-01", "2023-03-31"), ("2023-05-01", "2023-05-31")),
        ("de mars à mai 2023", ("2023-03-01", "2023-03-31"), ("2023-05-01", "2023-05-31")),
        ("from December to February 2020", ("2019-12-01", "2019-12-31"), ("2020-02-01", "2020-02-29")),
        ("en 2019 et en 2021", ("2019-01-01", "2019-12-31"), ("2021-01-01", "2021-12-31")),
        ("à l'été 2019 et à l'été 2022", ("2019-06-01", "2019-08-31"), ("2022-06-01", "2022-08-31")),
        ("compare 2019-09-01 with 2019-09-20", ("2019-09-01", "2019-09-01"), ("2019-09-20", "2019-09-20")),
    ],
)
def test_comparisons_give_before_and_after(text, before, after):
    info = parse_dates(text, today=TODAY)
    assert info.kind == "compare"
    assert info.before == P(*before)
    assert info.after == P(*after)
    assert info.period == P(before[0], after[1])


def test_range_between_two_days_is_one_period_without_endpoints():
    info = parse_dates("du 2023-07-01 au 2023-09-30", today=TODAY)
    assert info.kind == "range"
    assert info.period == P("2023-07-01", "2023-09-30")
    assert info.before is None and info.after is None


@pytest.mark.parametrize("text", ["since 2016", "depuis 2016", "compared to 2016", "plus verte qu'en 2016"])
def test_since_compares_the_date_with_the_recent_window(text):
    info = parse_dates(text, today=TODAY)
    assert info.kind == "since"
    assert info.before == P("2016-01-01", "2016-12-31")
    assert info.after == Period(date(2024, 6, 15), TODAY)
    assert (info.after.end - info.after.start).days == RECENT_DAYS
    assert info.period == Period(date(2016, 1, 1), TODAY)


def test_inverted_range_is_swapped_and_flagged():
    info = parse_dates("between 2020 and 2016", today=TODAY)
    assert "inverted" in info.flags
    assert info.before == P("2016-01-01", "2016-12-31")
    assert info.after == P("2020-01-01", "2020-12-31")


@pytest.mark.parametrize(
    "text", ["in 2030", "next year", "l'année prochaine", "tomorrow", "demain", "le mois prochain"]
)
def test_future_periods_are_flagged(text):
    info = parse_dates(text, today=TODAY)
    assert info.is_future
    assert info.period is not None and info.period.start > TODAY


def test_comparison_with_a_future_end_is_flagged():
    assert parse_dates("2024 vs 2030", today=TODAY).is_future


def test_period_straddling_today_is_clamped():
    info = parse_dates("in 2025", today=TODAY)
    assert info.period == Period(date(2025, 1, 1), TODAY)
    assert "clamped" in info.flags and not info.is_future


@pytest.mark.parametrize(
    "text", ["before and after the storm", "avant et après la tempête", "after the fire", "après l'incendie"]
)
def test_undated_event_is_flagged_without_dates(text):
    info = parse_dates(f"Show flooding {text} in Rennes", today=TODAY)
    assert info.kind == "none" and info.period is None
    assert "unknown_event" in info.flags
    assert info.event


def test_dated_event_is_not_unknown():
    info = parse_dates("after the October 2024 storms", today=TODAY)
    assert "unknown_event" not in info.flags
    assert info.period == P("2024-10-01", "2024-10-31")


@pytest.mark.parametrize("text", ["the latest image", "today", "aujourd'hui", "la dernière image", "right now"])
def test_latest_words(text):
    info = parse_dates(text, today=TODAY)
    assert info.kind == "latest" and info.period is None


def test_no_date():
    info = parse_dates("How many ships are in the port of Le Havre?", today=TODAY)
    assert info.kind == "none" and info.period is None and not info.flags


def test_spans_index_the_original_text():
    text = "Inondations à Orihuela le 18 septembre 2019 ?"
    info = parse_dates(text, today=TODAY)
    ((start, end),) = info.spans
    assert text[start:end] == "18 septembre 2019"


def test_invalid_day_is_ignored():
    assert parse_dates("on 31/02/2019", today=TODAY).period == P("2019-01-01", "2019-12-31")


def test_event_window_is_sixty_days_before():
    assert event_window(P("2019-09-18", "2019-09-18")) == P("2019-07-20", "2019-09-17")
    assert event_window(P("2024-10-01", "2024-10-31"), days_before=30) == P("2024-09-01", "2024-09-30")


def test_result_depends_only_on_today():
    a = parse_dates("last summer", today=date(2023, 1, 1))
    b = parse_dates("last summer", today=date(2023, 1, 1))
    assert a == b and a.period == P("2022-06-01", "2022-08-31")


def test_bare_year_pairs_ranges_and_next_season():
    today = date(2026, 12, 1)
    d = parse_dates("urban sprawl Ouagadougou 2016 2024", today=today)
    assert d.kind == "compare" and d.before and d.after and (d.before.start.year, d.after.start.year) == (2016, 2024)
    d = parse_dates("urban growth abu dhabi 2016 to 2018", today=today)
    assert d.period and (d.period.start.year, d.period.end.year) == (2016, 2018)
    d = parse_dates("burned area in Marseille next summer", today=today)
    assert d.period and d.period.start == date(2027, 6, 1) and "future" in d.flags


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("deforestation around Tapauá, 2010 and then 2023", "2010", "2023"),
        ("Tirana 2011 / 2024 les différences", "2011", "2024"),
        ("les cuves : compte-les en 2014 puis en 2024", "2014", "2024"),
        ("le couvert forestier, 2012 comparé à 2024", "2012", "2024"),
        ("les marais en janvier 2025 sous l'eau ? compare avec juillet 2024", "2024-07", "2025-01"),
    ],
)
def test_two_dates_joined_by_any_comparison_word_are_compared(text: str, before: str, after: str) -> None:
    d = parse_dates(text, today=TODAY)
    assert d.kind == "compare"
    assert d.before is not None and d.after is not None
    assert d.before.start.isoformat().startswith(before) and d.after.start.isoformat().startswith(after)


def test_two_dates_far_apart_in_a_sentence_are_not_a_comparison() -> None:
    d = parse_dates("floods in may 2020 in nantes, the 2021 one too", today=TODAY)
    assert d.kind == "single"
