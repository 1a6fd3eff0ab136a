"""'Where is X?': the place, its kind and extent, and the imagery that covers it, said before anything else."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.decisions import record_result

WHERE = re.compile(r"\b(where(?: is|'s| are)|ou (?:est|sont|se trouve\w*|se situe\w*)|locate|localise\w*)\b")
_KINDS = {
    "fr": {"city": "ville", "country": "pays", "state": "région", "place": "lieu", "lake": "lac",
           "river": "cours d'eau", "bay": "baie", "mountain": "montagne", "region": "région", "sea": "mer"},
}  # fmt: skip


def asks_where(question: str) -> bool:
    """True when the question asks where a place is."""
    return bool(WHERE.search(fold(question).lower().replace("’", "'")))


def _coord(value: float, pos: str, neg: str, lang: str) -> str:
    text = f"{abs(value):.2f}° {pos if value >= 0 else neg}"
    return text.replace(".", ",") if lang == "fr" else text


def location_line(steps: Sequence[Mapping[str, Any]], lang: str) -> str:
    """The place found by the turn's geocode step, its extent and the covering images ("" when none)."""
    geo = next((record_result(s) for s in steps if s.get("tool") == "geocode" and s.get("ok")), None)
    if not geo or not isinstance(geo.get("lat"), int | float) or not isinstance(geo.get("lon"), int | float):
        return ""
    name, kind = str(geo.get("name") or ""), str(geo.get("kind") or "place")
    kind = _KINDS.get(lang, {}).get(kind, kind)
    where = f"{_coord(geo['lat'], 'N', 'S', lang)}, {_coord(geo['lon'], 'E', 'W' if lang == 'en' else 'O', lang)}"
    box = geo.get("bbox") or []
    found = [record_result(s) for s in steps if s.get("tool") == "search_imagery" and s.get("ok")]
    items = [i for r in found for i in r.get("items", []) if isinstance(i, Mapping)]
    if lang == "fr":
        text = f"{name} ({kind}) se trouve vers {where}"
        if len(box) == 4:
            text += f", sur une emprise d'environ {abs(box[2] - box[0]):.2f}° × {abs(box[3] - box[1]):.2f}°".replace(
                ".", ","
            )
        return text + (f" ; {len(items)} image(s) du catalogue la couvrent." if items else ".")
    text = f"{name} ({kind}) is at about {where}"
    if len(box) == 4:
        text += f", over an extent of about {abs(box[2] - box[0]):.2f}° × {abs(box[3] - box[1]):.2f}°"
    return text + (f"; {len(items)} catalog image(s) cover it." if items else ".")
