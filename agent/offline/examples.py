"""Labelled examples for ``map_from_examples``: read from the question, or attached by the map or the API.

A question gives examples as a class name followed by coordinates, ``lat, lon`` (as everywhere in the planner) or
a box ``[west, south, east, north]``; a coordinate without its own name belongs to the class named before it:

- "map water vs land on S2A_xxx: water at 43.52,4.98 and 43.51,4.97; land at 43.60,5.10"
- "cartographie forêt et champs sur <image> : forêt 48.1,-1.6 ; champs 48.2,-1.5 48.21,-1.52"

Coordinates count as examples only when the question asks for a map from examples (the ``map_examples`` cues) or
names two classes or more: "flood at 43.5, 4.9" stays a flood question about a point. Examples clicked on the map
(the UI) or sent in an API request arrive as ``LabelledPlace``-shaped mappings and go through
:func:`coerce_examples`. Inside an :class:`~geovigie.agent.offline.understanding.Understanding` an example is a
plain tuple ``(label, kind, coordinates)`` so that the dialogue state stores it as JSON.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, ToolMessage

from geovigie.agent.offline.decisions import Clarify
from geovigie.agent.offline.intents import Language, intent_scores
from geovigie.agent.offline.periods import fold
from geovigie.core.db.models import CatalogItem

Example = tuple[str, str, tuple[float, ...]]
"""(label, ``point`` or ``box``, coordinates): a point is (lon, lat), a box (west, south, east, north)."""
Span = tuple[int, int]

MAX_EXAMPLES = 200
"""As many as ``map_from_examples`` accepts."""
PAD_KM = 1.0
"""Margin around the examples when they also give the area to map (no box in the question): a few km² that Presto
maps in seconds on a few cores; a box in the question maps more."""

_N = r"-?\d{1,3}(?:\.\d+)?"
_POINT = re.compile(
    r"(?<![\w.-])(-?\d{1,2}\.\d+)\s*°?\s*([ns])?\s*[,;]\s*(-?\d{1,3}\.\d+)\s*°?\s*([ewo])?(?![\w.])", re.IGNORECASE
)
_BOX = re.compile(rf"\[\s*({_N})\s*,\s*({_N})\s*,\s*({_N})\s*,\s*({_N})\s*\]")
_CUT = re.compile(r"[;:\n]|\.\s")
_FILLER = frozenset(
    "at a in on near around and et or ou plus also aussi points point pts example examples exemple exemples sample "
    "samples echantillon echantillons class classe classes label is are est sont for pour les des le la l de du d "
    "the some quelques here ici with avec lat lon coordinates coordonnees en sur dans these ces my mes this ce cet "
    "cette of from vs versus contre as comme = - then puis".split()
)
_AOI_WORDS = frozenset("bbox emprise aoi zone area region".split())
"""A box right after one of these words is the area to map, not an example."""
_DECLARED = re.compile(
    r"\b(?:map|mapping|classify|classification|cartographi\w*|carte|classe\w*|distingu\w*|separe\w*|separate)\s+"
    r"(?:(?:the|les|la|le|des|de|du|d'|of|entre|between)\s+)*([a-z][\w'-]*)"
    r"(?:\s+(?:vs\.?|versus|contre|and|et|or|ou|/)\s+(?:(?:the|les|la|le|des|de|du|d')\s+)*([a-z][\w'-]*))?"
)
_NOT_CLASSES = frozenset("from a partir on sur in with avec these ces my mes this ce les the des".split())

_TEXTS: dict[str, dict[Language, str]] = {
    "how": {
        "en": "To map {classes} from examples I need labelled places of at least two classes. Type them as "
        '`class at lat, lon` (or a box `[west, south, east, north]`), e.g. "water at 43.52, 4.98 and 43.51, 4.97; '
        "land at 43.60, 5.10\", or pick them on the map: in the map's Examples panel type a class name, click "
        'points, then press "Map from examples" (or ask your question: the points go with it).',
        "fr": "Pour cartographier {classes} à partir d'exemples, il me faut des lieux étiquetés d'au moins deux "
        "classes. Écrivez-les sous la forme `classe lat, lon` (ou une boîte `[ouest, sud, est, nord]`), par ex. "
        "« forêt 48.10, -1.60 ; champs 48.20, -1.50 et 48.21, -1.52 », ou choisissez-les sur la carte : dans le "
        "panneau Exemples de la carte, tapez un nom de classe, cliquez des points, puis « Map from examples » (ou "
        "posez votre question : les points l'accompagnent).",
    },
    "one_class": {
        "en": "I have examples of one class only ({label}, {n} place(s)): a map needs at least two. Add examples of "
        'what is not {label}, e.g. "{label} at 43.52, 4.98; other at 43.60, 5.10", or click them on the map.',
        "fr": "Je n'ai d'exemples que d'une classe ({label}, {n} lieu(x)) : une carte en demande au moins deux. "
        "Ajoutez des exemples de ce qui n'est pas {label}, par ex. « {label} 43.52, 4.98 ; autre 43.60, 5.10 », ou "
        "cliquez-les sur la carte.",
    },
    "classes": {"en": "classes", "fr": "des classes"},
}


@dataclass(frozen=True)
class ExampleRead:
    """What the question says about examples."""

    examples: tuple[Example, ...] = ()
    """Labelled places in text order (empty when the coordinates are not examples)."""
    classes: tuple[str, ...] = ()
    """Class names the question declares ("water vs land"), with or without places."""
    spans: tuple[Span, ...] = ()
    """Characters the examples used: hidden from the readers of coordinates, places and intent cues."""


def _label(segment: str, declared: Sequence[str]) -> str | None:
    """The class name a text segment ends with ("; land at" -> "land"), or None when it names none.

    Up to three words left once fillers are dropped are the name ("bare soil"); a longer run ("map water vs land on
    the image water") ends with the declared class nearest the coordinates, else its last word.
    """
    words = [
        (m.start(), m.group())
        for m in re.finditer(r"[^\W\d_][\w'’-]*", segment)
        if not re.search(r"[\d_]", m.group()) and fold(m.group()).strip("'’") not in _FILLER
    ]
    if not words:
        return None
    if len(words) <= 3:
        return " ".join(w for _, w in words)[:40]
    folded = fold(segment)
    best: tuple[int, str] | None = None
    for name in declared:
        for m in re.finditer(rf"\b{re.escape(fold(name))}\b", folded):
            best = max(best or (m.start(), name), (m.start(), name))
    if best is not None:
        return segment[best[0] : best[0] + len(best[1])]
    return words[-1][1][:40]


def _declared(folded: str) -> tuple[str, ...]:
    m = _DECLARED.search(folded)
    if not m:
        return ()
    return tuple(dict.fromkeys(g for g in m.groups() if g and g not in _NOT_CLASSES and g not in _FILLER))


def _places(text: str) -> list[tuple[int, int, str, tuple[float, ...]]]:
    """(start, end, kind, coordinates) of every point and box, in text order."""
    found: list[tuple[int, int, str, tuple[float, ...]]] = []
    for m in _BOX.finditer(text):
        w, s, e, n = (float(g) for g in m.groups())
        if -180 <= w < e <= 180 and -90 <= s < n <= 90:
            found.append((m.start(), m.end(), "box", (w, s, e, n)))
    for m in _POINT.finditer(text):
        if any(a <= m.start() < b for a, b, _, _ in found):
            continue
        lat, lon = float(m.group(1)), float(m.group(3))
        lat = -abs(lat) if (m.group(2) or "").lower() == "s" else lat
        lon = -abs(lon) if (m.group(4) or "").lower() in ("w", "o") else lon
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            found.append((m.start(), m.end(), "point", (lon, lat)))
    return sorted(found)


def read_examples(text: str) -> ExampleRead:
    """The labelled examples a question gives, with the spans they used.

    Args:
        text: The question (without injected instructions).

    Returns:
        The examples (empty unless the question asks for a map from examples or names two classes or more), the
        class names it declares, and the spans to hide from the other readers.
    """
    folded = fold(text).replace("’", "'")
    declared = _declared(folded)
    asked = "map_examples" in intent_scores(folded)
    examples: list[Example] = []
    spans: list[Span] = []
    previous_end, label = 0, None
    for start, end, kind, coords in _places(text):
        segment = text[previous_end:start]
        cut = list(_CUT.finditer(segment))
        tail = segment[cut[-1].end() :] if cut else segment
        words = re.findall(r"[a-z]+", fold(tail))
        if kind == "box" and words and words[-1] in _AOI_WORDS:
            previous_end = end
            continue  # "in bbox [...]": the area to map
        named = _label(tail, declared)
        if named is None and cut and not label:
            named = _label(segment, declared)
        label = named or label
        previous_end = end
        if label:
            examples.append((label.strip().lower(), kind, coords))
            spans.append((start, end))
    labels = {e[0] for e in examples}
    if not examples or not (asked or len(labels) >= 2):
        return ExampleRead(classes=declared)
    return ExampleRead(tuple(examples[:MAX_EXAMPLES]), declared, tuple(spans))


def coerce_examples(raw: Any) -> tuple[Example, ...]:
    """Examples attached to a question (map clicks, an API request) as typed tuples; malformed entries are dropped.

    Accepts ``LabelledPlace``-shaped mappings: ``label`` and one of ``point`` ([lon, lat]) or ``box``
    ([west, south, east, north]). Polygons are kept as their bounding box (the tool would take them whole, but
    the map sends points and boxes only).
    """
    out: list[Example] = []
    for entry in raw if isinstance(raw, list | tuple) else ():
        if not isinstance(entry, Mapping):
            continue
        label = str(entry.get("label") or "").strip().lower()[:40]
        point, box = entry.get("point"), entry.get("box") or _bounds(entry.get("polygon"))
        try:
            if label and isinstance(point, list | tuple) and len(point) == 2:
                lon, lat = float(point[0]), float(point[1])
                if -180 <= lon <= 180 and -90 <= lat <= 90:
                    out.append((label, "point", (lon, lat)))
            elif label and isinstance(box, list | tuple) and len(box) == 4:
                w, s, e, n = (float(v) for v in box)
                if -180 <= w < e <= 180 and -90 <= s < n <= 90:
                    out.append((label, "box", (w, s, e, n)))
        except (TypeError, ValueError):
            continue
    return tuple(out[:MAX_EXAMPLES])


def _bounds(polygon: Any) -> list[float] | None:
    """[west, south, east, north] of a GeoJSON polygon's coordinates (None when it has none)."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple) and len(node) >= 2 and all(isinstance(v, int | float) for v in node[:2]):
            xs.append(float(node[0]))
            ys.append(float(node[1]))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)

    walk(polygon.get("coordinates") if isinstance(polygon, Mapping) else None)
    return [min(xs), min(ys), max(xs), max(ys)] if xs else None


def example_args(examples: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """The examples as ``map_from_examples`` arguments (``LabelledPlace`` dicts)."""
    key = {"point": "point", "box": "box"}
    return [{"label": str(e[0]), key[str(e[1])]: [float(v) for v in e[2]]} for e in examples if str(e[1]) in key]


def examples_from_json(value: Any) -> tuple[Example, ...]:
    """The examples of a task read back from the dialogue state (lists become tuples again)."""
    out: list[Example] = []
    for e in value if isinstance(value, list | tuple) else ():
        if isinstance(e, list | tuple) and len(e) == 3 and isinstance(e[2], list | tuple):
            out.append((str(e[0]), str(e[1]), tuple(float(v) for v in e[2])))
    return tuple(out)


def examples_bbox(examples: Sequence[Example], pad_km: float = PAD_KM) -> tuple[float, float, float, float] | None:
    """The examples' extent with a margin of ``pad_km`` on each side (the area mapped when none is given)."""
    xs: list[float] = []
    ys: list[float] = []
    for _, kind, c in examples:
        xs += [c[0]] if kind == "point" else [c[0], c[2]]
        ys += [c[1]] if kind == "point" else [c[1], c[3]]
    if not xs:
        return None
    dlat = pad_km / 111.32
    dlon = pad_km / (111.32 * max(math.cos(math.radians((min(ys) + max(ys)) / 2)), 0.05))
    return (
        round(max(-180.0, min(xs) - dlon), 6),
        round(max(-90.0, min(ys) - dlat), 6),
        round(min(180.0, max(xs) + dlon), 6),
        round(min(90.0, max(ys) + dlat), 6),
    )


def examples_clarification(u: Any) -> Clarify | None:
    """The question to ask back when the examples cannot make a map (none, or one class), else None."""
    examples: tuple[Example, ...] = getattr(u, "examples", ())
    lang: Language = u.language
    labels = list(dict.fromkeys(e[0] for e in examples))
    if len(labels) >= 2:
        return None
    if labels:
        n = sum(1 for e in examples if e[0] == labels[0])
        return Clarify(_TEXTS["one_class"][lang].format(label=labels[0], n=n))
    declared = read_examples(u.question or "").classes
    classes = " / ".join(declared) if declared else _TEXTS["classes"][lang]
    return Clarify(_TEXTS["how"][lang].format(classes=classes))


Source = Literal["question", "attached", "thread", "none"]


def with_examples(
    u: Any,
    fresh: Any,
    attached: Sequence[Example],
    earlier: Sequence[Example] = (),
    covers: Callable[[str, tuple[float, float, float, float]], bool] | None = None,
    last_items: Sequence[str] = (),
) -> Any:
    """This turn's task with its examples: typed in the question, else attached to it, else the thread's.

    For a map from examples, the area to map is the question's own box, else the examples' extent with a margin;
    the image is the one named (or linked), else the latest image of the thread when it covers the examples
    (``covers``), else the catalog search over that area picks one.

    Args:
        u: The task after combining the question with the dialogue state.
        fresh: The question read alone.
        attached: Examples sent with the question (map clicks, API field).
        earlier: Examples of the thread's previous task.
        covers: ``(item_id, bbox) -> bool``: the item's footprint holds the box.
        last_items: Images the thread's latest analysis used, most recent first.
    """
    examples = tuple(fresh.examples) or tuple(attached) or tuple(u.examples) or tuple(earlier)
    if examples != tuple(u.examples):
        u = dataclasses.replace(u, examples=examples)
    if u.intent != "map_examples" or not examples:
        return u
    changes: dict[str, Any] = {"point": None, "radius_km": None}
    own_box = fresh.bbox if fresh.bbox is not None and fresh.bbox != examples_bbox(fresh.examples) else None
    if own_box is None:
        changes.update(bbox=examples_bbox(examples), place=None, country=None, place_options=(), region=None)
    if u.asks == "place":
        changes.update(clarification=None, asks=None)
    inner = examples_bbox(examples, pad_km=0.0)
    named = fresh.item_refs or fresh.place
    if not u.item_refs and not named and covers is not None and inner is not None:
        chosen = next((i for i in last_items if covers(i, inner)), None)
        if chosen:
            changes["item_refs"] = (chosen,)
    return dataclasses.replace(u, **changes)


def last_images(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Item ids the given tool records analysed, most recent first (quicklooks and analyses, not searches)."""
    out: list[str] = []
    for record in reversed(records):
        args = record.get("args") or {}
        if not record.get("ok") or record.get("tool") in ("search_imagery", "geocode"):
            continue
        for key in ("item_id", "after_item_id", "before_item_id"):
            if isinstance(args.get(key), str) and args[key] not in out:
                out.append(args[key])
        for item in args.get("item_ids") or ():
            if isinstance(item, str) and item not in out:
                out.append(item)
    return out


def turn_examples(
    u: Any,
    fresh: Any,
    current: BaseMessage,
    earlier_task: Any,
    earlier_messages: Sequence[BaseMessage],
    covers: Callable[[str, tuple[float, float, float, float]], bool] | None,
) -> Any:
    """:func:`with_examples` for one turn of the chat model: examples attached to the human message, the thread's.

    Args:
        u: The task after combining the question with the dialogue state.
        fresh: The question read alone.
        current: This turn's human message; examples ride in ``additional_kwargs["geovigie"]["examples"]``.
        earlier_task: The dialogue state's task (or None).
        earlier_messages: The thread's messages before this turn (their tool records name the images analysed).
        covers: ``(item_id, bbox) -> bool``, or None without a catalog.
    """
    meta = (current.additional_kwargs or {}).get("geovigie") or {}
    attached = coerce_examples(meta.get("examples") if isinstance(meta, Mapping) else None)
    records = [
        dict(m.artifact) for m in earlier_messages if isinstance(m, ToolMessage) and isinstance(m.artifact, Mapping)
    ]
    earlier = tuple(getattr(earlier_task, "examples", ()) or ())
    shown = dict.fromkeys([*last_images(records), *(getattr(earlier_task, "item_refs", ()) or ())])
    return with_examples(u, fresh, attached, earlier, covers, list(shown))


def footprint_check(db: Any) -> Callable[[str, tuple[float, float, float, float]], bool]:
    """``(item_id, bbox) -> bool``: the catalog item's footprint holds the box (a database of the tool context)."""

    def covers(item_id: str, bbox: tuple[float, float, float, float]) -> bool:
        with db.session() as session:
            row = session.get(CatalogItem, item_id)
        if row is None or None in (row.west, row.south, row.east, row.north):
            return False
        return bool(row.west <= bbox[0] and row.south <= bbox[1] and row.east >= bbox[2] and row.north >= bbox[3])

    return covers
