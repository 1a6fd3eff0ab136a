"""Images a follow-up points at without naming them: "that image", "the 2018 one", "the other one", "les deux".

A reference is resolved against the images of the current task: its named images and the catalog items of the
same family (the same place or pair: ``oscd-rennes-*``, ``dsifn-?-3_4``, the Sentinel-1/2 twins of a chip), or,
when the task is about a place, the catalog items of that place. Failing that, "the other DOTA picture" looks in
the same dataset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.item_facts import ItemFacts
from geovigie.agent.offline.linking import link_items
from geovigie.agent.offline.understanding import Understanding

_LATTER = re.compile(r"\b(cette derniere|ce dernier|the latter|celle-ci|this one|that one)\b")
_OTHER = re.compile(r"\b(other|l'autre|autre)\b")
_BOTH = re.compile(
    r"\b(les deux|both|the two|les 2|the 2|the pair|la paire|between them|entre (?:elles|eux|les deux)|"
    r"de l'une a l'autre|from one to the other|l'une et l'autre)\b"
)
_FIRST = re.compile(
    r"\b(first|1st|premiere|premier|earliest|older|oldest|before|d'avant|avant|plus ancien\w*)\b|"
    r"\bthe a (?:image|one|tile)\b|\bimage a\b"
)
_SECOND = re.compile(
    r"\b(second|2nd|deuxieme|seconde|latest|newer|later|after|d'apres|apres|recent|plus recente?)\b|"
    r"\b(?:the )?b (?:image|one|tile)\b|\bimage b\b"
)
_ONE_OF_TWO = re.compile(r"\b(?:of the|des|d'entre les|parmi les) (?:two|2|deux)\b")
"""One image picked among two ("the older tile of the two"), not both."""
_RADAR = re.compile(r"\b(radar|sar|s1)\b")
_OPTICAL = re.compile(r"\b(optique|optical|s2)\b")
_POINTER = re.compile(
    r"\b(it|that image|this image|that picture|cette image|cette photo|celle-la|dessus|on it|same image|"
    r"one|ones|image|picture|photo|scene|tile|chip|patch|pic)\b"
)
_WITH_CURRENT = re.compile(r"\b(it|compar\w*|chang\w*|since|depuis|vs|versus|against|par rapport)\b")
"""A date reference that sets the current image against another ("compare it with 2015", "since the 2000 one")."""
_DATE = re.compile(r"\d{4}-?\d{2}-?\d{2}|(?<!\d)(?:19|20)\d{2}(?:TM)?(?!\d)")


def _key(item: str) -> str:
    """The family of an item: its id without dates, before/after letter or sensor."""
    key = re.sub(r"-[AB]-", "-X-", _DATE.sub("", item))
    return re.sub(r"S[12]Hand", "SxHand", key).rstrip("-_")


def _day(item: str) -> date:
    if m := re.search(r"(\d{4})-?(\d{2})-?(\d{2})", item):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    if m := re.search(r"(?<!\d)((?:19|20)\d{2})", item):
        return date(int(m[1]), 1, 1)
    return date.min


def _ordered(items: Sequence[str]) -> list[str]:
    return sorted(dict.fromkeys(items), key=lambda i: (_day(i), "-B-" in i, i))


def _family(task: Understanding, known: Sequence[str]) -> list[str]:
    if task.item_refs:
        keys = {_key(r) for r in task.item_refs}
        return _ordered([i for i in known if _key(i) in keys] + list(task.item_refs))
    if task.place:
        name = re.sub(r"[^a-z0-9]", "", fold(task.place).lower())
        return _ordered([i for i in known if name and name in re.sub(r"[^a-z0-9]", "", i.lower())])
    return []


def refer(reply: Understanding, task: Understanding, known: Sequence[str]) -> tuple[str, ...] | None:
    """The images a follow-up points at, or None when it points at none (or at several it cannot tell apart)."""
    text = fold(reply.question).lower().replace("’", "'")
    family = _family(task, known)
    current = list(task.item_refs)
    cues = (_POINTER, _OTHER, _BOTH, _FIRST, _SECOND, _LATTER)
    if not family:
        return None
    if _RADAR.search(text) or _OPTICAL.search(text):  # "et sur le radar ?": the other sensor's twin
        twins = [i for i in family if re.search(r"S[12]Hand|S1A|S2[AB]", i)]
        pick = [i for i in twins if ("S1" in i) == bool(_RADAR.search(text))]
        if len(pick) == 1:
            return (pick[0],)
    if not any(c.search(text) for c in cues):
        return None
    if _LATTER.search(text) and current:
        return (current[-1],)
    if _BOTH.search(text) and len(family) == 2 and not _ONE_OF_TWO.search(text):
        return tuple(family)
    if _OTHER.search(text):
        others = [i for i in family if i not in current]
        if not others and current:
            prefix = current[0].split("-")[0] + "-"
            others = [i for i in known if i.startswith(prefix) and i not in current]
        return (others[0],) if len(others) == 1 else None
    return _by_position(text, reply, task, family, current)


def _by_position(
    text: str, reply: Understanding, task: Understanding, family: list[str], current: list[str]
) -> tuple[str, ...] | None:
    """A reference by date ("the 2018 one"), ordinal ("la deuxième") or pronoun ("it", "that image")."""
    periods = [p for p in (reply.dates.before, reply.dates.after) if p] or [p for p in (reply.dates.period,) if p]
    each = [[i for i in family if p.start.year <= _day(i).year <= p.end.year] for p in periods]
    if len(each) == 2 and all(len(e) == 1 for e in each) and each[0] != each[1]:
        return (each[0][0], each[1][0])  # "redo it with 2005 → 2020": one image per date named
    if periods:
        # "since the 2000 one": the year named may be either side; one image in any of them, else in the last
        inside = [i for i in family if any(p.start.year <= _day(i).year <= p.end.year for p in periods)]
        if len(inside) != 1:
            inside = [i for i in family if any(p.start.year <= _day(i).year <= p.end.year for p in periods[-1:])]
        if len(inside) == 1:
            keep = [c for c in current if c != inside[0]] if _WITH_CURRENT.search(text) else []
            return tuple(_ordered([*keep[:1], inside[0]]))
    if _FIRST.search(text) and len(family) >= 2:
        return (family[0],)
    if _SECOND.search(text) and len(family) >= 2:
        return (family[1],)
    if current and not reply.dates.period:
        return tuple(current)
    if (period := task.dates.period) is not None:  # "describe that image" after listing the August 2015 ones
        inside = [i for i in family if period.start <= _day(i) <= period.end]
        if len(inside) == 1:
            return (inside[0],)
    return (family[0],) if len(family) == 1 else None


def relink(
    reply: Understanding, task: Understanding, known: Sequence[str], facts: Mapping[str, ItemFacts] | None
) -> tuple[str, ...] | None:
    """The images a follow-up names in a conversation about images, without an image word.

    "and on OSBS?", "same for rennes 2017", "et sur celui de février 2018 ?", "now 2000 → 2010": the earlier turn
    named catalog images, so the reply's words and dates are matched against the catalog's items of the same
    dataset (its dates alone, against the same family: the other dates of that place or pair).
    """
    if not task.item_refs or reply.item_refs or reply.bbox or reply.point:
        return None
    prefixes = {r.split("-")[0] + "-" for r in task.item_refs}
    dataset = [i for i in known if any(i.startswith(p) for p in prefixes)]
    change = task.change or reply.change
    link = link_items(reply.clean_question, dataset, reply.dates, change=change, facts=facts, force=True)
    if link.items and set(link.items) != set(task.item_refs):
        return link.items
    if reply.dates.kind != "none" and not reply.place:
        family = _family(task, known)
        link = link_items(reply.clean_question, family, reply.dates, change=change, facts=facts, force=True)
        if link.items:
            return link.items
    return None
