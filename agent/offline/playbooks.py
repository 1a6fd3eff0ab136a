"""Plan templates ("playbooks") of the offline planner, and its pure step function :func:`next_step`.

A playbook is declarative: which scenes it needs (one, or a before/after pair), which analysis steps run on
them, the cloud limit, and the method (indices, date logic) reported with the answer. :func:`next_step`
replays the records of the steps already run against the playbook and returns the first thing not done yet,
so it is deterministic and can resume after any step.

Common flow::

    geocode(place) -> search_imagery(window...) -> analysis steps -> Finish
    (an image named in the question skips geocode and search)

Scene windows (``geovigie.agent.offline.dates`` conventions):

* state questions: one search over the asked period (none = all dates, latest scene first);
* change questions with two dates ("2016 vs 2019", "since 2016"): one search per date;
* flood/burn with one short date (a day or a month): a 60-day dry/green reference window before it, then the
  event period itself (latest scene before, earliest after);
* other change questions with one period or none: one search, earliest and latest usable scenes.

Industrial sites: one date is a look at the site (quicklook + ask_image), two dates a comparison (new built-up
area, then tank and ship counts; the counts are left out when the question is about growth in area, see
:data:`FOOTPRINT`).

Abstentions: nothing found, everything too cloudy, pixels too coarse for the object, future dates, out of
scope; a tool error the arguments caused gets one corrected retry
(:func:`geovigie.agent.offline.decisions.repair_args`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from geovigie.agent.offline.decisions import Abstain, Decision, Finish
from geovigie.agent.offline.examples import examples_clarification
from geovigie.agent.offline.intents import Intent
from geovigie.agent.offline.messages import say
from geovigie.agent.offline.plan_run import run_plan
from geovigie.agent.offline.templates import Playbook, Step, Target
from geovigie.agent.offline.understanding import Understanding


def _seg(target: str, on: Target = "single") -> Step:
    return Step("segment", on, (("target", target),))


def _change(preset: str) -> Step:
    return Step("detect_change", "pair", (("preset", preset),))


_LOOK = (Step("quicklook", "single"), Step("ask_image", "single"))

PLAYBOOKS: dict[tuple[Intent, bool], Playbook] = {
    ("find_imagery", False): Playbook(
        "find imagery", (), "Catalog search; scenes listed with date, cloud cover and pixel size.", None
    ),
    ("describe", False): Playbook(
        "describe", _LOOK, "True-colour quicklook of the chosen scene, then a description grounded in it."
    ),
    ("water_flood", False): Playbook(
        "water extent", (_seg("water"),), "Water mask from MNDWI/NDWI on one scene (segment 'water')."
    ),
    ("water_flood", True): Playbook(
        "flood / water change",
        (_change("flood"),),
        "Water gain between a reference scene and the event scene from MNDWI/NDWI water masks "
        "(detect_change preset 'flood'); the reference is the latest clear scene before the event. Without any "
        "reference scene, the water extent on the event scene is mapped instead (segment 'water').",
        event=True,
        fallback=(_seg("water", "after"),),
    ),
    ("burn", True): Playbook(
        "burn scar",
        (_change("burn"),),
        "Burnt area from the drop in NBR (dNBR = NBR before - NBR after, NIR/SWIR) between a pre-fire and a "
        "post-fire scene (detect_change preset 'burn').",
        event=True,
    ),
    ("deforestation", True): Playbook(
        "forest loss",
        (_change("deforestation"),),
        "Forest loss from the NDVI drop between the two dates (detect_change preset 'deforestation').",
    ),
    ("urban_growth", False): Playbook(
        "built-up share", (_seg("built_up"),), "Built-up mask from NDBI / built-up index (segment 'built_up')."
    ),
    ("urban_growth", True): Playbook(
        "urban growth",
        (_change("urban"),),
        "New built-up area from the NDBI/built-up gain confirmed by change-vector analysis (CVA) "
        "(detect_change preset 'urban').",
    ),
    ("industrial_activity", True): Playbook(
        "industrial site activity",
        (_change("urban"),),
        "New structures and cleared ground from built-up gain + CVA between two dates (preset 'urban').",
    ),
    ("industrial_activity", False): Playbook(
        "industrial site look",
        _LOOK,
        "True-colour quicklook of the site on the chosen scene, then a description of the visible activity "
        "(vessels berthed, plumes, stockpiles, works) grounded in it; one date shows a state, not a trend.",
    ),
    ("count_objects", False): Playbook(
        "count", (Step("count_objects", "single"),), "Objects detected one by one on imagery fine enough for them."
    ),
    ("count_objects", True): Playbook(
        "count at two dates",
        (Step("count_objects", "before"), Step("count_objects", "after")),
        "Objects counted on a scene at each date; the difference is the change.",
    ),
    ("land_cover", False): Playbook(
        "land cover", (_seg("landcover"),), "Land-cover classes and their areas (segment 'landcover')."
    ),
    ("land_cover", True): Playbook(
        "land-cover change",
        (_seg("landcover", "before"), _seg("landcover", "after")),
        "Land-cover classes at both dates (segment 'landcover'); class areas compared (post-classification).",
    ),
    ("vegetation", False): Playbook(
        "vegetation", (_seg("vegetation"),), "Vegetation cover and vigour from NDVI (segment 'vegetation')."
    ),
    ("vegetation", True): Playbook(
        "vegetation change",
        (_change("generic"),),
        "Change-vector analysis (CVA) between two dates, NDVI difference reported (preset 'generic').",
    ),
    ("change_generic", True): Playbook(
        "change", (_change("generic"),), "Change-vector analysis (CVA) over the common bands (preset 'generic')."
    ),
    ("find_similar", False): Playbook(
        "find similar places",
        (Step("find_similar", "single"),),
        "Places most like the example (the point given, else the centre of the place named) in the area, by "
        "cosine similarity of Presto foundation-model embeddings (find_similar).",
    ),
    ("map_examples", False): Playbook(
        "map from examples",
        (Step("map_from_examples", "single"),),
        "Class map from the labelled examples (map_from_examples): a logistic regression on Presto foundation-model "
        "embeddings of the examples' pixels, applied to every pixel of the area, beside the same classifier on raw "
        "bands; the area is the examples' extent with a 1 km margin unless a box is given.",
        max_gsd=40.0,
    ),
    ("unknown", False): Playbook("none", (), "No plan: the question was not understood."),
    ("cloud", False): Playbook(
        "cloud cover", (_seg("cloud"),), "Cloud fraction over the area from the cloud mask (segment 'cloud').", None
    ),
}  # fmt: skip


FOOTPRINT = Playbook(
    "industrial site growth",
    (_change("urban"),),
    "New structures and cleared ground from built-up gain + CVA between two dates (detect_change preset 'urban'): "
    "the site's growth in area.",
)
"""Industrial change asked as growth in area ("has the mine expanded?"): no tank or ship counts."""


COUNTED_ACTIVITY = Playbook(
    "industrial site activity, counted",
    (_change("urban"), Step("count_objects", "before"), Step("count_objects", "after")),
    "New structures from built-up gain + CVA between two dates (preset 'urban'), then the objects asked about "
    "(storage tanks, vessels) counted on both scenes when their pixels are fine enough (tanks 3 m, ships 10 m).",
)
"""Industrial change with the objects to count named ("did the tank farm grow? count the tanks")."""


def playbook_for(u: Understanding) -> Playbook:
    """The template for an understood question (falls back on the other mode of the same intent)."""
    if u.intent == "industrial_activity" and u.change and "footprint" in u.flags:
        return FOOTPRINT
    if u.intent == "industrial_activity" and u.change and u.object:
        return COUNTED_ACTIVITY
    return PLAYBOOKS.get((u.intent, u.change)) or PLAYBOOKS[(u.intent, not u.change)]


def next_step(u: Understanding, history: Sequence[Mapping[str, Any]]) -> Decision:
    """The offline planner's next move, from the understood question and the steps already run.

    Args:
        u: The question, read by :func:`geovigie.agent.offline.understanding.understand`.
        history: Records of the steps run so far for this question, in order (``geovigie.agent.state.StepRecord``).

    Returns:
        The next :class:`~geovigie.agent.offline.decisions.ToolCall`, or a
        :class:`~geovigie.agent.offline.decisions.Finish`,
        :class:`~geovigie.agent.offline.decisions.Clarify` or :class:`~geovigie.agent.offline.decisions.Abstain`.
    """
    if u.intent == "map_examples" and (ask := examples_clarification(u)):
        return ask  # no examples, or one class only: say how to give them (typed, or clicked on the map)
    decision = run_plan(u, history, playbook_for(u))
    if not _buildings_as_area(u, decision):
        return decision
    # New buildings cannot be counted on coarse imagery: measure the new built-up area instead. The count plan's
    # records are the shortest prefix of the history after which it gave up; the area plan owns the rest.
    split = next(k for k in range(len(history) + 1) if isinstance(run_plan(u, history[:k], playbook_for(u)), Abstain))
    area = dataclasses.replace(u, intent="urban_growth", object=None, flags=u.flags | {"buildings_as_area"})
    follow = run_plan(area, history[split:], playbook_for(area))
    if isinstance(follow, Finish):
        note = say("buildings_as_area", u.language)
        return Finish(follow.message, follow.item_ids, (note, *follow.notes))
    return follow


def _buildings_as_area(u: Understanding, decision: Decision) -> bool:
    return (
        isinstance(decision, Abstain)
        and decision.code in ("too_coarse", "no_data")
        and u.object == "building"
        and u.change
    )
