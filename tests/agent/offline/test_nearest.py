"""Nearest available dates: each side of a comparison falls back to the closest date that keeps before < after."""

from datetime import date

from geovigie.agent.offline.nearest import nearest_items
from geovigie.agent.offline.periods import Period

ITEMS = [{"item_id": d, "datetime": f"{d}T10:00:00Z"} for d in ("2016-01-20", "2018-03-28")]


def _year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31))


def test_the_before_side_leaves_a_later_date_for_the_after_side():
    # "2017 vs 2019" with images on 2016-01-20 and 2018-03-28: 2018 is nearer to 2017, but then nothing is after
    _, before = nearest_items(ITEMS, _year(2017), None, side="before")
    assert before == date(2016, 1, 20)
    _, after = nearest_items(ITEMS, _year(2019), Period(before, before), side="after")
    assert after == date(2018, 3, 28)


def test_the_after_side_never_reuses_the_reference_date():
    bound = Period(date(2016, 1, 20), date(2016, 1, 20))
    items, day = nearest_items(ITEMS[:1], _year(2015), bound, side="after")
    assert (items, day) == ([], None)
