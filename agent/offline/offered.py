"""Which of the images the agent offered a reply picks: by rank, by date or by day of the month.

"the third one", "la 1ère", "the latest" rank the offered images by date; "march 2018 please", "celle de 2018"
keep those inside the reply's period; "celle du 11", "the 31st" those of that day. A reply that fits several (or
none) picks nothing, and the agent asks again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.item_dates import item_date
from geovigie.agent.offline.periods import Period

_RANKS = (
    (r"first|1st|earliest|oldest|older|premiere?|1re|1ere|plus ancienne|before|avant|d'avant", 0),
    (r"third|3rd|troisieme|3e|3eme", 2),
    (r"fourth|4th|quatrieme|4e|4eme", 3),
    (r"fifth|5th|cinquieme|5e|5eme", 4),
    (r"last|latest|newest|newer|later|most recent|more recent|derniere?|plus recente?|after|apres|d'apres", -1),
    (r"second|2nd|deuxieme|2e|2eme|seconde?|middle|milieu", 1),
)
"""Rank words and the index they pick in date order ("second" of two is also the last)."""
_ORDINAL_DAY = re.compile(r"\b(?:le |the |du |celle du |celui du )?(\d{1,2})(?:st|nd|rd|th|er)?\b")


def _rank(folded: str, ordered: list[str]) -> tuple[str, ...] | None:
    """The image a rank word picks (None: no rank word; empty: a rank beyond the list)."""
    for pattern, index in _RANKS:
        if re.search(rf"\b(?:{pattern})\b", folded):
            return (ordered[index],) if -len(ordered) <= index < len(ordered) else ()
    return None


def choose_offered(reply: str, offered: Sequence[str], period: Period | None = None) -> tuple[str, ...]:
    """The offered image a reply to "which image?" picks, or nothing when it picks none or several.

    Args:
        reply: The user's reply.
        offered: The image ids the agent offered.
        period: The period the reply names, if any ("march 2018"): only the images inside it are kept.
    """
    ordered = sorted(offered, key=lambda i: (item_date(i) or date.min, i))
    if len(ordered) < 2:
        return ()
    folded = fold(reply).lower()
    if period is not None:
        inside = [i for i in ordered if (d := item_date(i)) and period.start <= d <= period.end]
        if len(inside) == 1:
            return (inside[0],)
        if len(inside) > 1 and (ranked := _rank(folded, inside)):
            return ranked  # "la dernière de juillet"
        if inside or not _rank(folded, ordered):
            return ()
    if (ranked := _rank(folded, ordered)) is not None:
        return ranked
    days = {int(m.group(1)) for m in _ORDINAL_DAY.finditer(folded) if 1 <= int(m.group(1)) <= 31}
    picked = [i for i in ordered if (d := item_date(i)) and d.day in days]
    return (picked[0],) if len(picked) == 1 else ()
