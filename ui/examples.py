"""Examples picked on the map: what the browser sends, read into labelled places for ``map_from_examples``.

The map's Examples panel (``ui/static/geovigie-examples.js``) keeps the clicked points in the chat page
(``window.geovigieExamples``); every question sent from the chat carries them (``EXAMPLES_JS`` reads them into a
hidden textbox as JSON), and "Map from examples" asks :data:`MAP_QUESTION` with them. The agent keeps them in the
thread's dialogue state, so a later "map greenhouses vs fields from my points" uses them too.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_EXAMPLES = 200
"""As many as ``map_from_examples`` accepts; more are dropped (oldest kept)."""
MAX_PAYLOAD_CHARS = 100_000
"""A longer payload is not a set of clicks: ignored."""
MAP_QUESTION = "Map the classes from my examples on the map"
"""The question "Map from examples" asks (the offline planner reads it as a map from examples)."""

EXAMPLES_JS = """(...values) => {
  // The examples clicked on the map (kept in this page by geovigie-examples.js) go with the question.
  values[values.length - 1] = JSON.stringify(window.geovigieExamples || []);
  return values;
}"""
"""Runs in the browser before each send: the last input (the hidden examples box) gets the clicked points."""


def parse_examples(payload: str | None) -> list[dict[str, Any]]:
    """The labelled points of the browser's JSON payload, checked; anything malformed is dropped.

    Args:
        payload: ``[{"label": "water", "point": [lon, lat]}, ...]`` as JSON text (boxes ``"box": [w, s, e, n]``
            are accepted too).

    Returns:
        ``LabelledPlace``-shaped dicts: label (lower case, at most 40 characters) and a point or a box in lon/lat.
    """
    if not payload or len(payload) > MAX_PAYLOAD_CHARS:
        return []
    try:
        raw = json.loads(payload)
    except ValueError:
        return []
    out: list[dict[str, Any]] = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, dict):
            continue
        label = str(entry.get("label") or "").strip().lower()[:40]
        coords = _numbers(entry.get("point"), 2) or _numbers(entry.get("box"), 4)
        if not label or coords is None:
            continue
        if len(coords) == 2 and -180 <= coords[0] <= 180 and -90 <= coords[1] <= 90:
            out.append({"label": label, "point": coords})
        elif len(coords) == 4 and -180 <= coords[0] < coords[2] <= 180 and -90 <= coords[1] < coords[3] <= 90:
            out.append({"label": label, "box": coords})
    return out[:MAX_EXAMPLES]


def _numbers(value: Any, n: int) -> list[float] | None:
    if not isinstance(value, list) or len(value) != n:
        return None
    try:
        numbers = [float(v) for v in value]
    except (TypeError, ValueError):
        return None
    return numbers if all(math.isfinite(v) for v in numbers) else None
