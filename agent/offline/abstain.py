"""Why no scene can be used, said with what would work instead (the planner's abstentions about data)."""

from __future__ import annotations

from geovigie.agent.offline.decisions import Abstain
from geovigie.agent.offline.messages import object_name, say
from geovigie.agent.offline.periods import Period
from geovigie.agent.offline.scene_choice import Choice
from geovigie.agent.offline.understanding import Understanding


def abstention(
    u: Understanding, choice: Choice, period: Period | None, *, limit: float | None, cloud: float,
    catalog_empty: bool = False,
) -> Abstain:  # fmt: skip
    """The abstention for a failed scene choice.

    Args:
        u: The task.
        choice: The failed choice (its ``problem`` and details).
        period: The period searched (None: any date).
        limit: The finest pixel size the object class needs, if counting.
        cloud: The cloud limit that applied.
        catalog_empty: True when the catalog holds no item at all.
    """
    lang = u.language
    where = u.place or say("where_aoi", lang)
    when = say("when_range", lang, start=period.start, end=period.end) if period else say("when_any", lang)
    objects = object_name(str(u.object), lang)
    problem = choice.problem or "no_data"
    if problem == "no_data" and catalog_empty:
        return Abstain(say("no_catalog", lang), say("no_catalog_hint", lang), "no_catalog")
    if problem == "no_data" and limit is not None:
        reason = say("no_fine_data", lang, limit=limit, where=where, when=when, objects=objects)
        return Abstain(reason, say("no_data_hint", lang) + " " + say("too_coarse_hint", lang), "too_coarse")
    if problem == "too_coarse":
        source = say("found_images", lang, where=where)
        gsd = choice.detail.get("gsd", 0.0)
        reason = say("too_coarse", lang, objects=objects, limit=limit or 0.0, source=source, gsd=gsd)
        return Abstain(reason, say("too_coarse_hint", lang), problem)
    if problem == "partial":
        pct = 100 * choice.detail.get("coverage", 0.0)
        return Abstain(say("partial", lang, pct=pct, where=where, when=when), say("partial_hint", lang), problem)
    if problem == "too_cloudy":
        n = int(choice.detail.get("n", 0))
        reason = say("too_cloudy", lang, n=n, where=where, when=when, limit=cloud)
        return Abstain(reason, say("too_cloudy_hint", lang), problem)
    return Abstain(say(problem, lang, where=where, when=when), say(f"{problem}_hint", lang), problem)
