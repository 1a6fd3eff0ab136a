"""Typed task slots: what ``run_playbook`` takes from an LLM, validated like any tool call.

A served model reads the question itself (intent, place, dates, images); the slots it fills replace what the
deterministic understanding read, and the understanding fills the slots it leaves empty. So a model can do better
than the rules on intent and dates, and without a model the rules still fill every slot.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, model_validator

from geovigie.agent.offline.dates import DateInfo
from geovigie.agent.offline.intents import Intent, ObjectClass
from geovigie.agent.offline.periods import Period
from geovigie.agent.offline.understanding import ALWAYS_CHANGE, Understanding


class Window(BaseModel):
    """A closed date interval."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def period(self) -> Period:
        """As a :class:`~geovigie.agent.offline.periods.Period`."""
        return Period(self.start, self.end)


class TaskSlots(BaseModel):
    """The task, as slots (every one optional: empty slots are read from the question)."""

    intent: Literal[get_args(Intent)] | None = Field(  # type: ignore[valid-type]
        default=None, description="What is asked: water_flood, burn, deforestation, urban_growth, "
        "industrial_activity, land_cover, vegetation, cloud, count_objects, find_imagery, describe, change_generic."
    )  # fmt: skip
    place: str | None = Field(default=None, max_length=200, description="Place name to geocode, as the user means it.")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO-2 code of the place's country.")
    region: str | None = Field(
        default=None, max_length=100, description="State, province or département the place lies in, when given."
    )
    bbox: list[float] | None = Field(
        default=None, min_length=4, max_length=4, description="[west, south, east, north] in EPSG:4326."
    )
    period: Window | None = Field(default=None, description="The one period asked about.")
    before: Window | None = Field(default=None, description="The earlier period of a comparison.")
    after: Window | None = Field(default=None, description="The later period of a comparison.")
    item_ids: list[str] | None = Field(default=None, max_length=4, description="Catalog item ids the user means.")
    object: Literal[get_args(ObjectClass)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Object class to count."
    )
    language: Literal["fr", "en"] | None = Field(default=None, description="Language of the answer.")

    @model_validator(mode="after")
    def _pairs(self) -> TaskSlots:
        if (self.before is None) != (self.after is None):
            raise ValueError("give both before and after, or neither")
        if self.before and self.after and self.after.start < self.before.start:
            raise ValueError("after starts before before")
        return self


def _dates(slots: TaskSlots, today: date) -> DateInfo | None:
    if slots.before and slots.after:
        before, after = slots.before.period(), slots.after.period()
        span = Period(before.start, after.end)
        flags = frozenset({"future"}) if after.start > today else frozenset()
        return DateInfo(kind="compare", period=span, before=before, after=after, unit="span", flags=flags)
    if slots.period:
        p = slots.period.period()
        flags = frozenset({"future"}) if p.start > today else frozenset()
        return DateInfo(kind="single" if p.days <= 31 else "range", period=p, unit="span", flags=flags)
    return None


def apply_slots(u: Understanding, slots: TaskSlots) -> Understanding:
    """The understanding with every slot the model filled replacing what the rules read."""
    changes: dict[str, Any] = {}
    if slots.intent:
        changes["intent"] = slots.intent
    if slots.place:
        changes.update(place=slots.place, place_options=(), bbox=None, point=None, item_refs=(), region=None)
    if slots.country:
        changes["country"] = slots.country
    if slots.region:
        changes["region"] = slots.region
    if slots.bbox:
        changes.update(bbox=tuple(slots.bbox), place=None, point=None, region=None)
    if (dates := _dates(slots, u.today)) is not None:
        changes.update(dates=dates, flags=(u.flags - {"future", "clamped", "inverted", "unknown_event"}) | dates.flags)
    if slots.item_ids:
        changes.update(item_refs=tuple(slots.item_ids), place=None, country=None, region=None)
    if slots.object:
        changes["object"] = slots.object
    if slots.language:
        changes["language"] = slots.language
    if not changes:
        return u
    merged = dataclasses.replace(u, **changes, clarification=None, asks=None)
    intent = merged.intent
    change = intent in ALWAYS_CHANGE or bool(merged.dates.before and merged.dates.after) or (
        u.change if intent == u.intent else len(merged.item_refs) >= 2)  # fmt: skip
    if intent in ("find_imagery", "describe", "cloud"):
        change = False
    obj = merged.object if intent == "count_objects" else None
    return dataclasses.replace(merged, change=change, object=obj)
