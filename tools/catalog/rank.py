"""Filters and ranking score of ``search_imagery`` (pure functions on STAC items).

Ranking::

    score = 0.4 * coverage + 0.3 * cloud + 0.2 * date_fit + 0.1 * resolution

* coverage — intersection area / AOI area (equal-area projection centred on the AOI), 0..1;
* cloud — 1 - eo:cloud_cover / 100; unknown cloud cover counts as 0.6 (about 40 %);
* date_fit — with a date window: 1 - |date - target| / window length, the target being the window's end
  (``prefer="latest"``), its start (``"earliest"``) or its middle; without a window: the rank of the date
  among the results (newest = 1 for ``latest``), 1 for ``middle``; unknown date = 0;
* resolution — sqrt(min(1, 10 m / gsd)): 10 m or finer = 1, 40 m = 0.5; unknown = 0.5.

Without a bbox the coverage term is dropped and the other weights are rescaled to sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal

import shapely
from dateutil.parser import isoparse
from pyproj import Geod, Transformer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from geovigie.core.domain import BBox
from geovigie.tools.raster import Scene

WEIGHTS = {"coverage": 0.4, "cloud": 0.3, "date": 0.2, "gsd": 0.1}
UNKNOWN_CLOUD_SCORE = 0.6
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Filters:
    """The filter part of a search request."""

    start: date | None = None
    end: date | None = None
    max_cloud: float | None = None
    min_gsd: float | None = None
    max_gsd: float | None = None
    collections: list[str] | None = None
    prefer: Literal["latest", "middle", "earliest"] = "latest"
    by_name: bool = False
    """True when the items were named by the user (plain images are then kept in a bbox search)."""


def to_dt(value: Any) -> datetime | None:
    """Parse an ISO date-time (UTC when no zone is given)."""
    if not value:
        return None
    parsed = isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def period(scene: Scene) -> tuple[datetime, datetime] | None:
    """Acquisition period: [datetime, datetime], or start/end for year/month-only dates; None if unknown."""
    props = scene.properties
    if props.get("geovigie:date_precision") == "unknown":
        return None
    when = to_dt(props.get("datetime"))
    start, end = to_dt(props.get("start_datetime")), to_dt(props.get("end_datetime"))
    if when is not None and props.get("geovigie:date_precision") not in ("year", "month"):
        return when, when
    if start is not None and end is not None:
        return start, end
    return (when, when) if when else None


def footprint(scene: Scene) -> BaseGeometry | None:
    """WGS84 footprint of a scene (its geometry, else its bbox), or None."""
    geom = scene.item.get("geometry")
    if geom:
        try:
            return shape(geom)
        except (ValueError, TypeError, AttributeError):
            pass
    return box(*scene.bbox) if scene.bbox else None


class Aoi:
    """The AOI in an equal-area projection, for coverage fractions."""

    def __init__(self, bbox: BBox) -> None:
        w, s, e, n = bbox
        lon0, lat0 = (w + e) / 2, (s + n) / 2
        proj = f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
        self._to_m = Transformer.from_crs("EPSG:4326", proj, always_xy=True).transform
        self.geom = box(*bbox)
        self.area_m2 = shapely.transform(self.geom, self._to_m, interleaved=False).area

    def coverage(self, other: BaseGeometry) -> float:
        """Fraction (0..1) of the AOI covered by ``other``."""
        inter = self.geom.intersection(other)
        if inter.is_empty or self.area_m2 <= 0:
            return 0.0
        return min(1.0, shapely.transform(inter, self._to_m, interleaved=False).area / self.area_m2)

    def inside(self, other: BaseGeometry) -> float:
        """Fraction (0..1) of ``other`` (a scene footprint) that lies inside the AOI."""
        inter = self.geom.intersection(other)
        whole = shapely.transform(other, self._to_m, interleaved=False).area
        if inter.is_empty or whole <= 0:
            return 0.0
        return min(1.0, shapely.transform(inter, self._to_m, interleaved=False).area / whole)


def aoi_area_km2(bbox: BBox) -> float:
    """Geodesic area of a WGS84 bbox in km²."""
    area, _ = _GEOD.geometry_area_perimeter(box(*bbox))
    return abs(area) / 1e6


PLATFORM_FAMILIES = ("sentinel-2", "sentinel-1", "landsat", "naip")
"""Mission names recognised inside collection ids (``sentinel-2-l2a`` on Earth Search)."""


def collection_matches(scene: Scene, wanted: list[str]) -> bool:
    """True when the scene's collection is wanted, or shares its mission with a wanted collection.

    Remote collection ids (``sentinel-2-l2a``, ``landsat-c2-l2``) thus also select local items of the same
    mission (``oscd-sentinel-2-l1c``, platform ``sentinel-2``), whose collection ids differ.
    """
    collection = (scene.collection or "").lower()
    platform = str(scene.properties.get("platform") or scene.properties.get("constellation") or "").lower()
    for name in wanted:
        if name.lower() == collection:
            return True
        family = next((f for f in PLATFORM_FAMILIES if f in name.lower()), None)
        if family and (platform.startswith(family) or family in collection):
            return True
    return False


def window(f: Filters) -> tuple[datetime | None, datetime | None]:
    """The date filter as UTC date-times (whole days, inclusive)."""
    start = datetime.combine(f.start, time.min, tzinfo=UTC) if f.start else None
    end = datetime.combine(f.end, time(23, 59, 59), tzinfo=UTC) if f.end else None
    return start, end


def exclusion(
    scene: Scene,
    f: Filters,
    aoi: Aoi | None,
    span: tuple[datetime | None, datetime | None],
) -> str | None:
    """Why a candidate fails the filters, or None when it passes."""
    if f.collections and not collection_matches(scene, f.collections):
        return "other collection"
    if aoi is not None and (scene.georeferenced or not f.by_name):
        shape_ = footprint(scene) if scene.georeferenced else None
        if shape_ is None:
            return "not georeferenced"
        if aoi.coverage(shape_) <= 0:
            return "outside the area"
    start, end = span
    if start or end:
        when = period(scene)
        if when is None:
            return "date unknown"
        if (start and when[1] < start) or (end and when[0] > end):
            return "outside the dates"
    if f.max_cloud is not None and scene.cloud_cover is not None and scene.cloud_cover > f.max_cloud:
        return "too cloudy"
    if f.min_gsd is not None or f.max_gsd is not None:
        gsd = scene.gsd
        if gsd is None:
            return "pixel size unknown"
        if (f.min_gsd and gsd < f.min_gsd) or (f.max_gsd and gsd > f.max_gsd):
            return "pixel size out of range"
    return None


def date_scores(scenes: list[Scene], f: Filters, span: tuple[datetime | None, datetime | None]) -> dict[str, float]:
    """Date fit of every scene (see the module docstring)."""
    mids: dict[str, float] = {}
    for scene in scenes:
        when = period(scene)
        if when is not None:
            mids[scene.id] = (when[0].timestamp() + when[1].timestamp()) / 2
    if not mids:
        return {}
    start, end = span
    if start or end:
        lo = start.timestamp() if start else min(mids.values())
        hi = end.timestamp() if end else max(max(mids.values()), lo)
        target = {"latest": hi, "earliest": lo, "middle": (lo + hi) / 2}[f.prefer]
        length = max(hi - lo, 86400.0)
        return {k: max(0.0, 1 - abs(t - target) / length) for k, t in mids.items()}
    if f.prefer == "middle":
        return dict.fromkeys(mids, 1.0)
    lo, hi = min(mids.values()), max(mids.values())
    if hi == lo:
        return dict.fromkeys(mids, 1.0)
    rank = {k: (t - lo) / (hi - lo) for k, t in mids.items()}
    return rank if f.prefer == "latest" else {k: 1 - v for k, v in rank.items()}


def score_item(*, coverage: float | None, cloud_cover: float | None, date_fit: float, gsd: float | None) -> float:
    """Ranking score in 0..1 (formula in the module docstring)."""
    cloud = UNKNOWN_CLOUD_SCORE if cloud_cover is None else 1 - min(max(cloud_cover, 0.0), 100.0) / 100
    resolution = 0.5 if not gsd else min(1.0, 10.0 / gsd) ** 0.5
    parts = {"cloud": cloud, "date": date_fit, "gsd": resolution}
    if coverage is not None:
        parts["coverage"] = coverage
    total_weight = sum(WEIGHTS[k] for k in parts)
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()) / total_weight, 4)
