"""Typed task slots: the model's slots replace what the rules read; empty slots keep the rules' reading."""

from datetime import date

import pytest
from pydantic import ValidationError

from geovigie.agent.offline import understand
from geovigie.agent.offline.playbook_tool import RunPlaybookInput
from geovigie.agent.offline.slots import TaskSlots, apply_slots

TODAY = date(2026, 12, 1)


def test_slots_override_intent_place_and_dates_and_keep_the_rest():
    u = understand("et là-bas, c'est pareil ?", today=TODAY)  # the rules read nothing useful here
    slots = TaskSlots.model_validate({
        "intent": "urban_growth", "place": "León", "country": "ES",
        "before": {"start": "2019-01-01", "end": "2019-12-31"}, "after": {"start": "2025-12-01", "end": "2026-12-01"},
    })  # fmt: skip
    v = apply_slots(u, slots)
    assert (v.intent, v.place, v.country, v.change, v.clarification) == ("urban_growth", "León", "ES", True, None)
    assert v.dates.before is not None and v.dates.before.start == date(2019, 1, 1)
    assert v.language == u.language  # not given: the question's language stays


def test_empty_slots_leave_the_rules_reading():
    u = understand("Has Bordeaux grown between 2016 and 2017?", today=TODAY)
    assert apply_slots(u, TaskSlots()) == u


def test_slots_are_validated_like_a_tool_call():
    with pytest.raises(ValidationError):
        RunPlaybookInput.model_validate({"question": "q", "country": "Spain"})
    with pytest.raises(ValidationError):
        RunPlaybookInput.model_validate({"question": "q", "before": {"start": "2019-01-01", "end": "2019-12-31"}})
    with pytest.raises(ValidationError):
        RunPlaybookInput.model_validate({"question": "q", "period": {"start": "2020-02-01", "end": "2020-01-01"}})
    with pytest.raises(ValidationError):
        RunPlaybookInput.model_validate({"question": "q", "intent": "weather"})


def test_future_period_from_slots_is_flagged():
    u = understand("burnt area at Ajaccio?", today=TODAY)
    v = apply_slots(u, TaskSlots.model_validate({"period": {"start": "2027-08-01", "end": "2027-08-31"}}))
    assert "future" in v.flags
