"""Plan templates' types: a :class:`Playbook` is a named sequence of analysis :class:`Step` calls.

Kept apart from :mod:`~geovigie.agent.offline.playbooks` (the catalogue of templates) so that the executor
(:mod:`~geovigie.agent.offline.plan_run`) and the catalogue both import the types without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from geovigie.agent.offline.intents import ObjectClass

DEFAULT_CLOUD_LIMIT = 30.0
"""Largest cloud cover (%) accepted for analysis when the user gives no limit."""

Target = Literal["single", "before", "after", "pair"]


@dataclass(frozen=True)
class Step:
    """One analysis call of a playbook."""

    tool: Literal[
        "segment", "count_objects", "detect_change", "quicklook", "ask_image", "find_similar", "map_from_examples"
    ]
    on: Target
    args: tuple[tuple[str, str], ...] = ()
    object: ObjectClass | None = None
    """Fixed object class; None means the class the user asked to count."""


@dataclass(frozen=True)
class Playbook:
    """A plan template."""

    name: str
    steps: tuple[Step, ...]
    method: str
    cloud_limit: float | None = DEFAULT_CLOUD_LIMIT
    event: bool = False
    """Dated event (flood, fire): a short single period gets a reference window just before it."""
    max_gsd: float | None = None
    fallback: tuple[Step, ...] = ()
    """Steps run on the event scene alone when no usable reference scene exists before the event."""
