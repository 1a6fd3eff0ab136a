"""Running a playbook: replay the step records against the template and return the first step not done.

Used by :func:`geovigie.agent.offline.playbooks.next_step`. The replay walks the records in order: each planned call
consumes
the records of that tool (a failed attempt and its corrected retry count as one step), so the same question
and records always give the same next decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from geovigie.agent.offline.abstain import abstention
from geovigie.agent.offline.countries import readable_options
from geovigie.agent.offline.dates import Period, event_window, fold
from geovigie.agent.offline.decisions import (
    Abstain,
    Clarify,
    Decision,
    Finish,
)
from geovigie.agent.offline.examples import example_args
from geovigie.agent.offline.intents import OBJECT_MAX_GSD_M, ObjectClass
from geovigie.agent.offline.messages import object_name, say
from geovigie.agent.offline.methods import method_text
from geovigie.agent.offline.nearest import item_day, nearest_items
from geovigie.agent.offline.replay import _describe_item, _drop_none, _option, _ref_date, _Replay, _Stop
from geovigie.agent.offline.scene_choice import Choice, Policy, choose, choose_across, choose_pair, coverage, normalise
from geovigie.agent.offline.templates import Playbook, Step
from geovigie.agent.offline.understanding import Understanding

POINT_RADIUS_KM = 2.0
"""Half-side of the area around bare coordinates when no radius is given."""

_ACROSS = re.compile(
    r"\b(?:catalog|catalogue|other (?:scenes|images|dates)|autres (?:scenes|images|dates)|everywhere|partout|"
    r"anywhere|ailleurs)\b"
)
"""A similarity search asked beyond the example's own scene."""

COUNT_RADIUS_KM: dict[ObjectClass, float] = {
    "vehicle": 1.0,
    "tree": 1.0,
    "building": 2.0,
    "ship": 3.0,
    "storage_tank": 3.0,
    "plane": 2.0,
}
"""Default half-side of the counting area around a place's centre: counting cars over a whole city at 0.5 m
would read billions of pixels; the answer says which area was counted."""


"""Typed tool errors (core.errors) that end the plan, and the abstention code each one gives."""


OPTICAL_BANDS = frozenset({"red", "green", "blue", "nir", "pan"})
"""Bands that make a scene usable by the optical analysis tools."""

NEAR_RADIUS_KM = 15.0
"""Half-side of the area searched when the question asks about the surroundings of a place ("near X")."""

ALL_WINDOW_LIMIT = 100
"""Scenes asked for when one search must yield both the earliest and the latest usable scene."""


class _Plan:
    def __init__(self, u: Understanding, history: Sequence[Mapping[str, Any]], playbook: Playbook) -> None:
        self.u = u
        self.lang = u.language
        self.pb = playbook
        self.replay = _Replay(u, history)
        self.notes: list[str] = [method_text(self.pb, u.language)]
        self.missing_reference: Period | None = None
        self._every_date: list[dict[str, Any]] | None = None  # one all-dates search serves both nearest sides
        """The pre-event window that had no usable scene (the playbook's fallback steps then run)."""
        self.catalog_empty = False
        """A search said there is no imagery at all (empty catalog, no STAC API): not a question of dates."""

    def gates(self) -> None:
        """Refuse or ask before any tool runs."""
        u, lang = self.u, self.lang
        if "out_of_scope" in u.flags:
            raise _Stop(Abstain(say("out_of_scope", lang), say("out_of_scope_hint", lang), "out_of_scope"))
        if u.dates.is_future:
            future = next(p for p in (u.dates.after, u.dates.period) if p and p.start > u.today)
            reason = say("future", lang, start=future.start, end=future.end, today=u.today)
            raise _Stop(Abstain(reason, say("future_hint", lang), "future"))
        if u.clarification:
            raise _Stop(Clarify(u.clarification, u.place_options))
        limit = self.object_limit(u.object)
        asked = u.sensor_gsd if u.sensor_gsd is not None else u.max_gsd
        if limit is not None and asked is not None and asked > limit and not u.item_refs:
            objects = object_name(str(u.object), lang)
            source = u.sensor or say("asked_resolution", lang)
            reason = say("too_coarse", lang, objects=objects, limit=limit, source=source, gsd=asked)
            raise _Stop(Abstain(reason, say("too_coarse_hint", lang), "too_coarse"))

    def object_limit(self, obj: ObjectClass | None) -> float | None:
        return OBJECT_MAX_GSD_M.get(obj) if obj else None

    def aoi(self) -> list[float] | None:
        """The area of interest, geocoding the place first when needed."""
        from geovigie.tools.places import bbox_around

        u = self.u
        if u.bbox:
            return list(u.bbox)
        if u.point:
            return list(bbox_around(u.point[0], u.point[1], u.radius_km or POINT_RADIUS_KM))
        if not u.place:
            return None
        radius = u.radius_km or (COUNT_RADIUS_KM.get(u.object) if u.object else None)
        near = radius is None and "near" in u.flags
        if near:
            # The geocoder sizes its bbox to this radius: the area is the one it returns.
            self.notes.append(say("near_area", self.lang, radius=NEAR_RADIUS_KM, place=u.place))
        args = _drop_none({"query": u.place, "country": u.country, "region": u.region,
                           "radius_km": NEAR_RADIUS_KM if near else radius})  # fmt: skip
        res = self.replay.call("geocode", args, "locate the place")
        if self.replay.last_args.get("query") != u.place:  # "Lake Kariba" unknown, "Kariba" found
            if res.get("kind") == "country":  # "Lake Chad" is not the country Chad
                raise _Stop(Clarify(say("place_not_found", self.lang, place=u.place)))
            self.notes.append(say("water_body_town", self.lang, place=u.place, town=res.get("name", "")))
        if res.get("ambiguous"):
            options = tuple(dict.fromkeys(_option(a) for a in [res, *res.get("alternatives", [])]))
            text = say("ambiguous_place", self.lang, place=u.place, options=readable_options(options, self.lang))
            raise _Stop(Clarify(text, options))
        lat, lon = res.get("lat"), res.get("lon")
        if radius and not u.radius_km and u.object:
            self.notes.append(say("counted_within", self.lang, radius=radius, place=u.place))
        if isinstance(lat, int | float) and isinstance(lon, int | float) and (radius or not res.get("bbox")):
            return list(bbox_around(float(lat), float(lon), radius or 5.0))
        return [float(v) for v in res["bbox"]] if res.get("bbox") else None

    def windows(self) -> list[tuple[str, Period | None]]:
        """(label, period) of each search: ``single``, ``before``/``after`` or ``all`` (earliest + latest)."""
        dates = self.u.dates
        if not self.u.change:
            return [("single", dates.period)]
        if dates.before and dates.after:
            return [("before", dates.before), ("after", dates.after)]
        if self.pb.event and dates.kind == "single" and dates.period and dates.period.days <= 31:
            before = event_window(dates.period)
            self.notes.append(say("reference_window", self.lang, start=before.start, end=before.end))
            return [("before", before), ("after", dates.period)]
        return [("all", dates.period)]

    def search_gsd(self) -> float | None:
        u = self.u
        limits = [self.object_limit(u.object), self.pb.max_gsd, u.max_gsd]
        if u.collection is None:
            limits.append(u.sensor_gsd)
        present = [v for v in limits if v is not None]
        return min(present) if present else None

    def search(self, aoi: list[float] | None, period: Period | None, *, limit: int = 10) -> list[dict[str, Any]]:
        u = self.u
        args = {
            "bbox": aoi,
            "start": period.start.isoformat() if period else None,
            "end": period.end.isoformat() if period else None,
            "max_cloud": u.max_cloud,
            "max_gsd": self.search_gsd(),
            "collections": [u.collection] if u.collection else None,
            "limit": limit,
        }
        res = self.replay.call("search_imagery", _drop_none(args), "find scenes over the area and period")
        self.catalog_empty = self.catalog_empty or bool(res.get("catalog_empty"))
        items = [normalise(i) for i in res.get("items", []) if isinstance(i, Mapping)]
        # The analysis tools work on optical bands: radar-only scenes (VV/VH) are kept only if nothing else exists,
        # so that the tool's own error explains what is missing.
        optical = [i for i in items if not i.get("bands") or OPTICAL_BANDS & set(i["bands"])]
        return optical or items

    def abstain_for(self, choice: Choice, period: Period | None) -> Abstain:
        """Why no scene can be used, with what would work instead."""
        cloud = self.u.max_cloud if self.u.max_cloud is not None else self.pb.cloud_limit or 0.0
        limit = self.object_limit(self.u.object)
        return abstention(self.u, choice, period, limit=limit, cloud=cloud, catalog_empty=self.catalog_empty)

    def policy(self, label: str) -> Policy:
        if label == "single":
            return "latest" if self.u.dates.kind in ("none", "latest") else "clearest"
        if self.pb.event:
            return "latest" if label == "before" else "earliest"
        return "clearest"

    def limits(self) -> tuple[float | None, float | None]:
        """(cloud limit, pixel-size limit) a scene must meet to be used."""
        u = self.u
        return (u.max_cloud if u.max_cloud is not None else self.pb.cloud_limit), self.object_limit(u.object)

    def one_window(self, label: str, period: Period | None, aoi: list[float] | None) -> dict[str, dict[str, Any]]:
        """Scene(s) from one search: the chosen one (``single``), or the earliest and latest (``all``)."""
        max_cloud, max_gsd = self.limits()
        if label == "all":
            # both ends of a change from one search: ask for many scenes so the earliest is not ranked out
            items = self.search(aoi, period, limit=ALL_WINDOW_LIMIT)
            choice = choose_pair(items, max_cloud=max_cloud, max_gsd=max_gsd)
            labels: tuple[str, ...] = ("before", "after")
        else:
            choice = choose(self.search(aoi, period), policy=self.policy(label), max_cloud=max_cloud, max_gsd=max_gsd)
            labels = (label,)
        if choice.problem:
            raise _Stop(self.abstain_for(choice, period))
        return dict(zip(labels, choice.items, strict=True))

    def two_windows(self, before: Period | None, after: Period | None, aoi: list[float] | None) -> dict[str, Any]:
        """A comparable before/after pair from two searches (or the event scene alone, with the fallback)."""
        max_cloud, max_gsd = self.limits()
        before_items = (
            self.search(aoi, before)
            or self.nearest(aoi, before, after, side="before")
            # nothing before the after window either: the nearest date that still leaves a later one ("2014 vs 2016"
            # on a catalog of 2016-09-27 and 2018-03-23 compares those two, and says so)
            or self.nearest(aoi, before, None, side="before")
        )
        reference = choose(before_items, policy=self.policy("before"), max_cloud=max_cloud, max_gsd=max_gsd)
        if reference.problem and not self.pb.fallback:
            raise _Stop(self.abstain_for(reference, before))  # no point searching the second date
        after_items = self.search(aoi, after)
        if not after_items and self.u.dates.kind == "since" and before is not None and after is not None:
            # "since 2016": nothing in the last months, so compare with the latest image since the reference year.
            wider = Period(before.end + timedelta(days=1), after.end)
            after_items = self.search(aoi, wider)
            if after_items:
                self.notes.append(say("since_latest", self.lang, start=after.start, end=after.end))
        ref_day = item_day(reference.items[0]) if not reference.problem and reference.items else None
        if ref_day is not None:  # never the reference's own date again: the after side starts after it
            after_items = [i for i in after_items if (d := item_day(i)) is None or d > ref_day]
        if not after_items:
            bound = Period(ref_day, ref_day) if ref_day is not None else before
            after_items = self.nearest(aoi, after, bound, side="after")
        policies = (self.policy("before"), self.policy("after"))
        choice = choose_across(before_items, after_items, policies=policies, max_cloud=max_cloud, max_gsd=max_gsd)
        if choice.problem and self.pb.fallback and choice.detail.get("side") != 1.0:
            alone = choose(after_items, policy=policies[1], max_cloud=max_cloud, max_gsd=max_gsd)
            if not alone.problem:
                self.missing_reference = before
                return {"after": alone.items[0]}
        if choice.problem:
            raise _Stop(self.abstain_for(choice, after if choice.detail.get("side") == 1.0 else before))
        return dict(zip(("before", "after"), choice.items, strict=True))

    def nearest(self, aoi: list[float] | None, period: Period | None, other: Period | None, *, side: str) -> list[
            dict[str, Any]]:  # fmt: skip
        """Nothing at the asked date of a comparison: the scenes of the nearest date on that side, said plainly."""
        if period is None:
            return []
        if self._every_date is None:
            self._every_date = self.search(aoi, None, limit=ALL_WINDOW_LIMIT)
        items, day = nearest_items(self._every_date, period, other, side=side)
        if day is not None:
            where = self.u.place or say("where_aoi", self.lang)
            self.notes.append(say("nearest_date", self.lang, where=where, start=period.start, end=period.end, day=day))
        return items

    def scenes(self, aoi: list[float] | None) -> dict[str, dict[str, Any]]:
        """Chosen scene per label (``single`` or ``before``/``after``), searching when needed."""
        u = self.u
        pair = any(step.on != "single" for step in self.pb.steps)
        if len(u.item_refs) >= 2 and u.change and pair:
            before, after = sorted(u.item_refs[:2], key=_ref_date)
            return {"before": {"id": before}, "after": {"id": after}}
        if len(u.item_refs) == 1 and pair and not any(step.on == "single" for step in self.pb.steps):
            # A comparison with one named image (and a place from earlier in the thread): ask for the other
            # image rather than guess which dates the user meant.
            raise _Stop(Clarify(say("second_image", self.lang, item=u.item_refs[0])))
        if u.item_refs:
            return {"single": {"id": u.item_refs[0]}}
        windows = self.windows()
        if len(windows) == 2:
            chosen = self.two_windows(windows[0][1], windows[1][1], aoi)
        else:
            chosen = self.one_window(*windows[0], aoi)
        for item in chosen.values():
            if coverage(item) < 0.9:
                self.notes.append(say("partial_cover", self.lang, item=item["id"], pct=100 * coverage(item)))
        return chosen

    def analysis_args(self, step: Step, scenes: dict[str, dict[str, Any]], aoi: list[float] | None) -> dict[str, Any]:
        args: dict[str, Any] = dict(step.args)
        if step.on == "pair":
            args.update(before_item_id=scenes["before"]["id"], after_item_id=scenes["after"]["id"])
        elif step.tool == "ask_image":
            args.update(question=self.u.clean_question, item_ids=[scenes[step.on]["id"]])
        else:
            args["item_id"] = scenes[step.on]["id"]
        if step.tool == "find_similar" and aoi is not None:
            # The example: the point the user gave, else the centre of the place named ("this quarry").
            lat, lon = self.u.point if self.u.point else ((aoi[1] + aoi[3]) / 2, (aoi[0] + aoi[2]) / 2)
            args["point"] = [lon, lat]
            if _ACROSS.search(fold(self.u.question).lower()):
                args["across_catalog"] = True  # "ailleurs dans le catalogue", "in the other scenes"
        if step.tool == "map_from_examples":
            args["examples"] = example_args(self.u.examples)
        if step.tool == "count_objects":
            args["object"] = step.object or self.u.object
            args["pixel_size_m"] = self.u.max_gsd if self.u.item_refs else None
        args["bbox"] = aoi
        return _drop_none(args)

    def run(self) -> Decision:
        self.gates()
        aoi = self.aoi()
        if self.u.intent == "find_imagery":
            return self.listing(aoi)
        scenes = self.scenes(aoi)
        steps = self.pb.steps
        if self.missing_reference is not None:
            steps = self.pb.fallback
            gap = self.missing_reference
            self.notes.append(say("no_reference", self.lang, start=gap.start, end=gap.end, item=scenes["after"]["id"]))
        for step in steps:
            scene = scenes.get("after" if step.on == "pair" else step.on, {})
            limit = self.object_limit(step.object)
            if limit is not None and isinstance(scene.get("gsd"), int | float) and scene["gsd"] > limit:
                objects = object_name(str(step.object), self.lang).capitalize()
                self.notes.append(say("not_counted", self.lang, objects=objects, gsd=scene["gsd"]))
                continue
            self.replay.call(step.tool, self.analysis_args(step, scenes, aoi), self.pb.name)
        ids = tuple(dict.fromkeys(str(s["id"]) for s in scenes.values()))
        return Finish(say("done", self.lang, steps=" -> ".join(self.replay.ran)), ids, tuple(self.notes))

    def listing(self, aoi: list[float] | None) -> Decision:
        u = self.u
        if u.item_refs:
            res = self.replay.call("search_imagery", {"item_ids": list(u.item_refs)}, "look up the named images")
            items = [normalise(i) for i in res.get("items", []) if isinstance(i, Mapping)]
        else:
            items = self.search(aoi, u.dates.period, limit=20)
        if not items:
            raise _Stop(self.abstain_for(Choice(problem="no_data"), u.dates.period))
        shown = ", ".join(_describe_item(i) for i in items[:10])
        return Finish(say("found", self.lang, n=len(items), items=shown), tuple(str(i.get("id")) for i in items))


def run_plan(u: Understanding, history: Sequence[Mapping[str, Any]], playbook: Playbook) -> Decision:
    """The next decision for ``u`` under ``playbook``, given the records of the steps already run."""
    try:
        return _Plan(u, history, playbook).run()
    except _Stop as stop:
        return stop.decision
