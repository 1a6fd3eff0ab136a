"""Which clarifying question the offline planner must ask before planning, and which slot its answer fills.

The question is named by its message key (:mod:`geovigie.agent.offline.messages`); :data:`SLOT_ASKED` says what
the user's reply will supply, so that the dialogue state can fill that slot and keep the rest of the task.
"""

from __future__ import annotations

from geovigie.agent.offline.dates import DateInfo
from geovigie.agent.offline.intents import Intent

EVENT_INTENTS: frozenset[Intent] = frozenset({"burn", "water_flood"})

SLOT_ASKED = {
    "which_place": "place",
    "ambiguous_place": "place",
    "place_not_found": "place",
    "when_event": "date",
    "what_about": "topic",
    "second_image": "image",
    "which_image": "image",
    "empty": "topic",
}
"""Message key of a clarifying question -> the slot its answer fills."""


def clarification_for(
    *, intent: Intent, change: bool, refs: tuple[str, ...], has_aoi: bool, dates: DateInfo, flags: set[str],
    empty: bool,
) -> str | None:  # fmt: skip
    """The message key of the one question to ask back, or None when a plan can start."""
    if empty or (intent == "unknown" and not has_aoi and not refs and "out_of_scope" not in flags):
        return "empty"
    if flags & {"future", "out_of_scope"}:
        return None  # the planner abstains with an explanation instead
    if intent == "unknown":
        return "what_about" if has_aoi else "empty"
    if not has_aoi and not refs and intent != "find_imagery":
        return "which_place"
    needs_date = dates.kind in ("none", "latest") and not refs
    if "unknown_event" in flags and needs_date:
        return "when_event"
    if intent in EVENT_INTENTS and change and needs_date:
        return "when_event"
    if change and len(refs) == 1 and not has_aoi and intent not in ("find_imagery", "describe"):
        return "second_image"
    return None
