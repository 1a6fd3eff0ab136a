"""Explicit things a question names besides places and dates.

Image references, boxes, points, radii, cloud limits, resolution wishes, and injected instructions.
Each finder takes the folded question (see :func:`geovigie.agent.offline.dates.fold`; same length as the original) and
returns
what it found plus the character spans it consumed, so that later readers (dates, place names, intent cues)
do not see "2016-05-04" inside ``oscd-bordeaux-2016-05-04`` or "clouds" inside "less than 10% clouds".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.intents import INJECTION

Span = tuple[int, int]
_NUM = r"-?\d{1,3}(?:\.\d+)?"

_FILE = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)*[\w.-]*\w\.(?:tiff?|png|jpe?g|jp2)\b", re.IGNORECASE)
_PRODUCT = re.compile(r"\b(?:S2[AB]_MSI\w+|L[CETMO]0\d_\w+|S1[AB]_\w+)", re.IGNORECASE)
_ID_LIKE = re.compile(r"(?<![\w./-])(?=[\w-]*\d{4})(?=[\w-]*[A-Za-z]{2})[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)+(?![\w-])")
"""A catalog-style id the catalog may not hold yet (``S2B_32TQM_20250704_0_L2A``, ``oscd-lyon-2019-01-01``):
letters and digits joined by ``_`` or ``-``, with a run of 4+ digits (a date, a tile, an orbit) and two letters in
a row. Hyphenated words also need two hyphens (see :func:`_id_like`), so "mi-2023" or "sentinel-2" stay words."""


def _id_like(token: str) -> bool:
    return "_" in token or token.count("-") >= 2


@dataclass(frozen=True)
class Mentions:
    """Everything explicit found in a question (before intent and place reading)."""

    item_refs: tuple[str, ...] = ()
    """Image references in text order: known item ids, file names, product ids."""
    bbox: tuple[float, float, float, float] | None = None
    point: tuple[float, float] | None = None
    """(lat, lon) of explicit coordinates."""
    radius_km: float | None = None
    max_cloud: float | None = None
    max_gsd: float | None = None
    """Finest-acceptable pixel size asked for ("sub-metre", "at 10 m resolution")."""
    spans: tuple[Span, ...] = ()


def blank(text: str, spans: Iterable[Span]) -> str:
    """Replace the given character spans by spaces (the length is kept)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def split_injection(question: str) -> tuple[str, bool]:
    """Drop sentences that try to give the agent instructions.

    Returns:
        (the question without those sentences, whether any was dropped).
    """
    parts = re.split(r"(?<=[!?;])\s+|(?<=\.)\s+(?=[A-ZÀ-Ý])|\n+", question)
    kept = [p for p in parts if not INJECTION.search(fold(p).replace("’", "'"))]
    return " ".join(kept).strip(), len(kept) != len(parts)


def find_item_refs(question: str, known_items: Sequence[str]) -> tuple[list[str], list[Span]]:
    """Known item ids, image file names, Sentinel/Landsat product ids and other id-like tokens in the question."""
    found: list[tuple[int, str]] = []
    spans: list[Span] = []
    lowered = question.lower()

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in spans)

    for item in sorted(known_items, key=len, reverse=True):
        for m in re.finditer(r"(?<![\w-])" + re.escape(item.lower()) + r"(?![\w-])", lowered):
            if free(m.start(), m.end()):
                found.append((m.start(), item))
                spans.append((m.start(), m.end()))
    for pattern in (_FILE, _PRODUCT, _ID_LIKE):
        for m in pattern.finditer(question):
            if free(m.start(), m.end()) and (pattern is not _ID_LIKE or _id_like(m.group())):
                found.append((m.start(), m.group().rstrip(".")))
                spans.append((m.start(), m.end()))
    return [ref for _, ref in sorted(found)], spans


def find_bbox(folded: str) -> tuple[tuple[float, float, float, float] | None, Span | None]:
    """Four numbers after "bbox" or inside brackets, normalised to (west, south, east, north)."""
    four = rf"({_NUM})\s*[,;]\s*({_NUM})\s*[,;]\s*({_NUM})\s*[,;]\s*({_NUM})"
    m = re.search(rf"\b(?:bbox|bounding box|emprise)\s*[:=]?\s*[\[(]?\s*{four}\s*[\])]?", folded) or re.search(
        rf"[\[(]\s*{four}\s*[\])]", folded
    )
    # four bare numbers "w,s,e,n" (no spaces, as copied from a map tool): a box, not two lat/lon points
    m = m or re.search(rf"(?<![\d.,-])({_NUM}),({_NUM}),({_NUM}),({_NUM})(?![\d.,])", folded)
    if not m:
        return None, None
    a, b, c, d = (float(g) for g in m.groups())
    west, east = sorted((a, c))
    south, north = sorted((b, d))
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        return None, None
    return (west, south, east, north), (m.start(), m.end())


def find_point(folded: str) -> tuple[tuple[float, float] | None, Span | None]:
    """Explicit coordinates: "43.30, 5.37" (lat, lon), "43.3N 5.37E", "lat 43.3 lon 5.37"."""
    m = re.search(rf"\blat\w*\s*[:=]?\s*({_NUM})\s*[,;]?\s*(?:lon|lng)\w*\s*[:=]?\s*({_NUM})", folded)
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
    else:
        m = re.search(r"(?<![\d.])(\d{1,2}\.\d+)\s*°?\s*([ns])?\s*[,;\s]\s*(-?\d{1,3}\.\d+)\s*°?\s*([ew])?\b", folded)
        if not m:
            return None, None
        lat, lon = float(m.group(1)), float(m.group(3))
        lat = -lat if m.group(2) == "s" else lat
        lon = -lon if m.group(4) == "w" else lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return (lat, lon), (m.start(), m.end())


def find_radius(folded: str) -> tuple[float | None, Span | None]:
    """AOI size: "within 5 km of", "dans un rayon de 10 km", "5 km around", "ljubljana 10 km"."""
    m = re.search(r"(?<![\d.,])(\d+(?:[.,]\d+)?)\s*(km|kilometres?|kilometers?|m|metres?|meters?)\b(?!²|2)", folded)
    if not m or re.match(r"\s*(?:resolution|de resolution|pixels?|gsd|par pixel)", folded[m.end() :]):
        return None, None
    value = float(m.group(1).replace(",", "."))
    km = value if m.group(2).startswith("k") else value / 1000
    if not 0 < km <= 100:
        return None, None
    return km, (m.start(), m.end())


_CLOUD_WORD = r"(?:of |de |d')?(?:couverture nuageuse|cloud ?cover|clouds?|cloudiness|nuages?|nebulosite)"
_CLOUD_LIMITS = [
    re.compile(
        r"(?:less than|fewer than|under|below|max(?:imum)?|at most|up to|<=?|≤|moins de|au plus|au maximum|"
        r"pas plus de|inferieure? a|sous)\s*(\d{1,3}(?:[.,]\d+)?)\s*(?:%|pour ?cent|percent)\s*" + _CLOUD_WORD
    ),
    re.compile(
        r"(?:couverture nuageuse|cloud ?cover|clouds?|nuages?)\s*(?:below|under|less than|<=?|≤|inferieure? a|"
        r"de moins de|sous|max(?:imum)?)\s*(\d{1,3}(?:[.,]\d+)?)\s*(?:%|pour ?cent|percent)"
    ),
]
_CLOUD_FREE = re.compile(
    r"\b(?:cloud[- ]?free|cloudless|without clouds?|no clouds?|sans nuages?|ciel degage|clear[- ]sky)\b"
)
CLOUD_FREE_LIMIT = 10.0
"""Cloud percentage used for "cloud-free" / "sans nuages"."""
_FEW_CLOUDS = re.compile(
    r"\b(?:(?:with )?(?:few|little|low) clouds?(?: cover)?|mostly clear|(?:avec )?peu de nuages|peu nuageu\w*|"
    r"(?:avec une )?faible couverture nuageuse)\b"
)
FEW_CLOUDS_LIMIT = 20.0
"""Cloud percentage used for "few clouds" / "peu nuageuses" (a wish about the images, not a cloud question)."""


def find_cloud_limit(folded: str) -> tuple[float | None, Span | None]:
    """Largest cloud percentage the user accepts, if said."""
    for pattern in _CLOUD_LIMITS:
        if m := pattern.search(folded):
            return min(100.0, float(m.group(1).replace(",", "."))), (m.start(), m.end())
    if m := _CLOUD_FREE.search(folded):
        return CLOUD_FREE_LIMIT, (m.start(), m.end())
    if m := _FEW_CLOUDS.search(folded):
        return FEW_CLOUDS_LIMIT, (m.start(), m.end())
    return None, None


_RESOLUTION_WORDS = [
    (re.compile(r"\bsub[- ]?met(?:re|er)\w*|\bsubmetrique\w*|\bsous-metrique\w*"), 1.0),
    (re.compile(r"\b(?:very high resolution|tres haute resolution|vhr|thr)\b"), 2.0),
    (re.compile(r"\b(?:high resolution|haute resolution)\b"), 5.0),
]
_RESOLUTION_VALUE = re.compile(
    r"(?:(\d+(?:[.,]\d+)?)\s*(cm|m|metres?|meters?)\s*(?:de )?(?:resolution|pixels?|gsd|par pixel)"
    r"|(?:resolution|gsd|pixel size|taille de pixel|pixels? of)\s*(?:of|de|d'|:|=)?\s*(\d+(?:[.,]\d+)?)\s*(cm|m)\b)"
)


def find_resolution(folded: str) -> tuple[float | None, Span | None]:
    """Pixel size the user asks for, in metres."""
    if m := _RESOLUTION_VALUE.search(folded):
        value = m.group(1) or m.group(3)
        unit = m.group(2) or m.group(4)
        metres = float(value.replace(",", "."))
        return (metres / 100 if unit == "cm" else metres), (m.start(), m.end())
    for pattern, gsd in _RESOLUTION_WORDS:
        if m := pattern.search(folded):
            return gsd, (m.start(), m.end())
    return None, None


def find_mentions(question: str, folded: str, known_items: Sequence[str]) -> Mentions:
    """Run every finder in an order where earlier finds hide their text from later ones."""
    refs, spans = find_item_refs(question, known_items)
    text = blank(folded, spans)
    bbox, span = find_bbox(text)
    spans += [span] if span else []
    text = blank(text, spans)
    point, span = find_point(text)
    spans += [span] if span else []
    results: dict[str, float | None] = {}
    for name, finder in (("cloud", find_cloud_limit), ("gsd", find_resolution), ("radius", find_radius)):
        text = blank(text, spans)
        results[name], span = finder(text)
        spans += [span] if span else []
    return Mentions(
        item_refs=tuple(refs),
        bbox=bbox,
        point=point,
        radius_km=results["radius"],
        max_cloud=results["cloud"],
        max_gsd=results["gsd"],
        spans=tuple(spans),
    )
