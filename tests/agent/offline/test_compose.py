"""Answer texts: urban growth is the built-up gain; loss and net are said apart; French uses a decimal comma."""

from typing import Any

from geovigie.agent.offline.compose import _change


def _urban(gain: float, loss: float) -> dict[str, Any]:
    return {"preset": "urban", "area_unit": "m2", "changed_area_m2": gain + loss, "changed_pct_of_valid": 3.2,
            "before_date": "2016-05-04", "after_date": "2017-10-26", "polygon_count": 12,
            "before_item_id": "oscd-bordeaux-2016-05-04", "after_item_id": "oscd-bordeaux-2017-10-26",
            "directions": [{"direction": "built-up gain", "pixels": 1, "area_m2": gain, "counted": True},
                           {"direction": "built-up loss", "pixels": 1, "area_m2": loss, "counted": True}]}  # fmt: skip


def test_urban_growth_headline_is_the_gain_not_gain_plus_loss():
    text = _change(_urban(129_000.0, 347_000.0), "en")
    assert text.startswith("Yes: urban growth (new built-up surfaces) of 12.9 ha")
    assert "lost: 34.7 ha" in text and "net change: -21.8 ha" in text
    assert "47.6" not in text and "oscd-bordeaux" not in text  # no sum of both, no ids in the short answer


def test_french_answer_uses_the_decimal_comma():
    text = _change(_urban(129_000.0, 20_000.0), "fr")
    assert "12,9 ha" in text and "disparues : 2,0 ha" in text and "+10,9 ha" in text


def test_where_is_answers_with_the_place_its_extent_and_covering_imagery():
    from geovigie.agent.offline.locate import asks_where, location_line

    steps = [
        {"tool": "geocode", "ok": True, "result": {"name": "Aral Sea", "kind": "lake", "lat": 45.2, "lon": 59.9,
                                                   "bbox": [58.0, 43.5, 61.9, 46.8]}},
        {"tool": "search_imagery", "ok": True, "result": {"items": [{"item_id": "a"}, {"item_id": "b"}]}},
    ]  # fmt: skip
    assert asks_where("Where is the Aral Sea exactly? pic pls") and asks_where("où se trouve Saül ?")
    assert not asks_where("flooded areas in Nantes")
    line = location_line(steps, "en")
    assert line.startswith("Aral Sea (lake) is at about 45.20° N, 59.90° E") and "2 catalog image(s)" in line
    assert "45,20° N" in location_line(steps, "fr") and "(lac)" in location_line(steps, "fr")


def test_evidence_numbers_have_no_exponent_and_one_plus_minus():
    from geovigie.agent.answer import _number, _uncertainty

    assert _number(6.14799e06, "m2") == "6.15 km²" and _number(47_600.0, "m2") == "4.8 ha"
    assert _number(12.0, "count") == "12 count" and "e" not in _number(0.000123, "%").split()[0][1:]
    assert _uncertainty("about ±9%") == " (about ±9%)" and _uncertainty("9%") == " (±9%)"
