"""Coordinates, bboxes and GeoJSON written in a query: "38.08, -0.94", "45.87N 14.56E", "[w,s,e,n]"...

Two bare numbers are read as latitude, longitude (the order people and web maps use); four bare numbers
as a bbox west, south, east, north (the STAC/GeoJSON order). Hemisphere letters accept the French "O"
(ouest) for west, and degrees-minutes-seconds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from geovigie.core.domain import BBox, validate_bbox
from geovigie.core.errors import ToolInputError

GeometryKind = Literal["coordinates", "bbox", "geojson"]

GEOMETRY_HINT = "Give 'lat, lon' in degrees (e.g. '38.08, -0.94'), a bbox 'west,south,east,north', or a place name."

_NUM = r"[-+]?\d+(?:\.\d+)?"
_SEP = r"\s*[,;\s]\s*"
_PAIR = re.compile(rf"\(?\s*({_NUM}){_SEP}({_NUM})\s*\)?")
_FOUR = re.compile(rf"\[?\s*({_NUM}){_SEP}({_NUM}){_SEP}({_NUM}){_SEP}({_NUM})\s*\]?")
_HEMI = r"(\d+(?:\.\d+)?)\s*°?\s*(?:(\d+(?:\.\d+)?)\s*['′’]\s*)?(?:(\d+(?:\.\d+)?)\s*(?:\"|″|'')\s*)?([NSEWO])"
_HEMI_PAIR = re.compile(rf"\s*{_HEMI}\s*[,;/]?\s*{_HEMI}\s*", re.IGNORECASE)
_LAT = re.compile(rf"\b(?:lat|latitude)\b\s*[:=]?\s*({_NUM})", re.IGNORECASE)
_LON = re.compile(rf"\b(?:lon|lng|long|longitude)\b\s*[:=]?\s*({_NUM})", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedGeometry:
    """A point or an area read from the query."""

    kind: GeometryKind
    lat: float
    lon: float
    bbox: BBox | None
    """None for a point (the caller draws a box around it)."""
    text: str


def _hemi_value(deg: str, minutes: str | None, seconds: str | None, hemi: str) -> float:
    value = float(deg) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
    return -value if hemi.upper() in "SWO" else value


def _lat_lon(text: str) -> tuple[float, float] | None:
    """Read 'lat, lon', '45.87N 14.56E' (DMS too) or 'lat 38.1 lon -0.76'; None when not coordinates."""
    if match := _PAIR.fullmatch(text):
        return float(match.group(1)), float(match.group(2))
    if match := _HEMI_PAIR.fullmatch(text):
        a = _hemi_value(*match.groups()[:4])
        b = _hemi_value(*match.groups()[4:])
        first_is_lat, second_is_lat = (match.group(g).upper() in "NS" for g in (4, 8))
        if first_is_lat == second_is_lat:
            axis = "latitudes (N/S)" if first_is_lat else "longitudes (E/W)"
            raise ToolInputError(f"'{text}' gives two {axis}.", hint=GEOMETRY_HINT)
        return (a, b) if first_is_lat else (b, a)
    lat, lon = _LAT.search(text), _LON.search(text)
    if lat and lon:
        return float(lat.group(1)), float(lon.group(1))
    return None


def _collect(coords: Any, out: list[tuple[float, float]]) -> None:
    if isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]):
        out.append((float(coords[0]), float(coords[1])))
    elif isinstance(coords, list):
        for item in coords:
            _collect(item, out)


def _walk_geojson(obj: Any, out: list[tuple[float, float]]) -> None:
    if isinstance(obj, dict):
        if "coordinates" in obj:
            _collect(obj["coordinates"], out)
        for key in ("geometry", "features", "geometries"):
            items = obj.get(key)
            for item in items if isinstance(items, list) else [items]:
                _walk_geojson(item, out)


def _check_point(lat: float, lon: float, hint: str) -> None:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ToolInputError(
            f"Coordinates (lat {lat}, lon {lon}) are out of range (latitude -90..90, longitude -180..180).",
            hint=hint,
        )


def _from_geojson(text: str) -> ParsedGeometry:
    hint = "GeoJSON coordinates are [longitude, latitude] in EPSG:4326 (RFC 7946)."
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolInputError(f"The query looks like GeoJSON but is not valid JSON: {exc.msg}.", hint=hint) from exc
    points: list[tuple[float, float]] = []
    _walk_geojson(obj, points)
    if not points:
        raise ToolInputError(
            "The GeoJSON has no coordinates.", hint="Give a geometry, a Feature or a FeatureCollection."
        )
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    w, s, e, n = min(lons), min(lats), max(lons), max(lats)
    if w == e or s == n:  # a point (or a degenerate line): the caller draws a box around it
        _check_point((s + n) / 2, (w + e) / 2, hint)
        return ParsedGeometry("geojson", (s + n) / 2, (w + e) / 2, None, "GeoJSON point")
    try:
        bbox = validate_bbox((w, s, e, n))
    except ToolInputError as exc:
        raise ToolInputError(exc.message, hint=hint) from exc
    return ParsedGeometry("geojson", (s + n) / 2, (w + e) / 2, bbox, f"GeoJSON with {len(points)} vertices")


def parse_geometry(query: str) -> ParsedGeometry | None:
    """Coordinates, a bbox or GeoJSON written in ``query``; None when it is something else (a name).

    Args:
        query: e.g. "38.08, -0.94", "45°52'N 14°33'E", "lat 38.1 lon -0.76", "[-1.0, 37.9, -0.7, 38.2]",
            '{"type": "Point", "coordinates": [-0.94, 38.08]}'.

    Raises:
        ToolInputError: when it is geometry but malformed or out of range.
    """
    text = query.strip()
    if text.startswith("{"):
        return _from_geojson(text)
    if match := _FOUR.fullmatch(text):
        w, s, e, n = (float(v) for v in match.groups())
        bbox = validate_bbox((w, s, e, n))
        return ParsedGeometry("bbox", (bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2, bbox, text)
    if text.startswith("["):
        raise ToolInputError(f"Cannot read '{text[:60]}' as a bbox: expected 4 numbers.", hint=GEOMETRY_HINT)
    if (latlon := _lat_lon(text)) is None:
        return None
    _check_point(*latlon, hint="Two numbers are read as 'latitude, longitude'; write 'lat Y lon X' to be explicit.")
    return ParsedGeometry("coordinates", latlon[0], latlon[1], None, text)
