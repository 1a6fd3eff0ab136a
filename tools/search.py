"""The ``search_imagery`` tool: find scenes in the local catalog and in remote STAC APIs, ranked for a question.

Ranking (documented for the planner and the user)::

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

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from dateutil.parser import isoparse
from pydantic import BaseModel, Field
from pyproj import Geod, Transformer
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shp_transform

from core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from core.errors import ToolInputError, UpstreamError
from tools.base import ToolContext, geo_tool
from tools.catalog_store import match_items, query_items
from tools.scene import Scene
from tools.stac_remote import RemoteQuery, cache_items, search_remote

LOCAL_SOURCE = "local catalog"
WEIGHTS = {"coverage": 0.4, "cloud": 0.3, "date": 0.2, "gsd": 0.1}
UNKNOWN_CLOUD_SCORE = 0.6
_GEOD = Geod(ellps="WGS84")


class SearchImageryInput(BaseModel):
    """Arguments of search_imagery."""

    bbox: tuple[float, float, float, float] | None = Field(
        None, description="Area of interest [west, south, east, north] in EPSG:4326 degrees; omit to list by name."
    )
    start: date | None = Field(None, description="Earliest acquisition date (inclusive), YYYY-MM-DD.")
    end: date | None = Field(None, description="Latest acquisition date (inclusive), YYYY-MM-DD.")
    max_cloud: float | None = Field(None, ge=0, le=100, description="Maximum scene cloud cover in percent.")
    min_gsd: float | None = Field(None, gt=0, description="Smallest acceptable pixel size in metres.")
    max_gsd: float | None = Field(None, gt=0, description="Largest acceptable pixel size in metres (e.g. 1 for cars).")
    collections: list[str] | None = Field(None, description="Restrict to these collection ids.")
    item_ids: list[str] | None = Field(
        None, description="Item ids or file names (e.g. 'P0706.png') to look up; works for non-georeferenced images."
    )
    prefer: Literal["latest", "middle", "earliest"] = Field(
        "latest", description="Which dates rank first: the most recent, the middle of the window, or the oldest."
    )
    limit: int = Field(10, ge=1, le=100, description="Most items returned.")


class FoundItem(BaseModel):
    """One scene found, with the numbers used to rank it."""

    item_id: str
    collection: str | None
    datetime: str | None
    date_precision: str | None = None
    cloud_cover: float | None
    gsd_m: float | None
    coverage_pct: float | None
    """Share of the AOI covered by the footprint, percent; None without a bbox or for plain images."""
    bands: list[str]
    georeferenced: bool
    bbox: BBox | None
    platform: str | None = None
    source: str
    score: float


class SearchImageryResult(BaseModel):
    """Ranked scenes and what was excluded."""

    items: list[FoundItem]
    total_matches: int
    excluded: dict[str, int] = Field(default_factory=dict)
    unreachable: list[str] = Field(default_factory=list)


def _to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _period(scene: Scene) -> tuple[datetime, datetime] | None:
    """Acquisition period: [datetime, datetime], or start/end for year/month-only dates; None if unknown."""
    props = scene.properties
    if props.get("geovigie:date_precision") == "unknown":
        return None
    when = _to_dt(props.get("datetime"))
    start, end = _to_dt(props.get("start_datetime")), _to_dt(props.get("end_datetime"))
    if when is not None and props.get("geovigie:date_precision") not in ("year", "month"):
        return when, when
    if start is not None and end is not None:
        return start, end
    return (when, when) if when else None


def _footprint(scene: Scene) -> BaseGeometry | None:
    geom = scene.item.get("geometry")
    if geom:
        try:
            return shape(geom)
        except (ValueError, TypeError, AttributeError):
            pass
    return box(*scene.bbox) if scene.bbox else None


class _Aoi:
    """The AOI in an equal-area projection, for coverage fractions."""

    def __init__(self, bbox: BBox) -> None:
        w, s, e, n = bbox
        lon0, lat0 = (w + e) / 2, (s + n) / 2
        proj = f"+proj=laea +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
        self._to_m = Transformer.from_crs("EPSG:4326", proj, always_xy=True).transform
        self.geom = box(*bbox)
        self.area_m2 = shp_transform(self._to_m, self.geom).area

    def coverage(self, footprint: BaseGeometry) -> float:
        inter = self.geom.intersection(footprint)
        if inter.is_empty or self.area_m2 <= 0:
            return 0.0
        return min(1.0, shp_transform(self._to_m, inter).area / self.area_m2)


def aoi_area_km2(bbox: BBox) -> float:
    """Geodesic area of a WGS84 bbox in km²."""
    area, _ = _GEOD.geometry_area_perimeter(box(*bbox))
    return abs(area) / 1e6


def _validate(args: SearchImageryInput, ctx: ToolContext) -> BBox | None:
    if args.start and args.end and args.start > args.end:
        raise ToolInputError(
            f"Start date {args.start} is after end date {args.end}.", hint="Swap the dates or fix the window."
        )
    if args.min_gsd and args.max_gsd and args.min_gsd > args.max_gsd:
        raise ToolInputError(
            f"min_gsd {args.min_gsd} m is larger than max_gsd {args.max_gsd} m.", hint="Swap the pixel-size bounds."
        )
    if args.bbox is None:
        return None
    bbox = validate_bbox(args.bbox)
    area = aoi_area_km2(bbox)
    if area > ctx.settings.max_aoi_km2:
        raise ToolInputError(
            f"The area of interest is {area:,.0f} km², over the {ctx.settings.max_aoi_km2:,.0f} km² limit.",
            hint="Search a smaller bbox (a city or a district), or split the area into parts.",
        )
    return bbox


def _window(args: SearchImageryInput) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(args.start, time.min, tzinfo=UTC) if args.start else None
    end = datetime.combine(args.end, time(23, 59, 59), tzinfo=UTC) if args.end else None
    return start, end


def _exclusion(
    scene: Scene,
    args: SearchImageryInput,
    aoi: _Aoi | None,
    window: tuple[datetime | None, datetime | None],
    by_name: bool,
) -> str | None:
    """Why a candidate fails the filters, or None when it passes."""
    if args.collections and scene.collection not in args.collections:
        return "other collection"
    if aoi is not None and (scene.georeferenced or not by_name):
        footprint = _footprint(scene) if scene.georeferenced else None
        if footprint is None:
            return "not georeferenced"
        if aoi.coverage(footprint) <= 0:
            return "outside the area"
    start, end = window
    if start or end:
        period = _period(scene)
        if period is None:
            return "date unknown"
        if (start and period[1] < start) or (end and period[0] > end):
            return "outside the dates"
    if args.max_cloud is not None and scene.cloud_cover is not None and scene.cloud_cover > args.max_cloud:
        return "too cloudy"
    if args.min_gsd is not None or args.max_gsd is not None:
        gsd = scene.gsd
        if gsd is None:
            return "pixel size unknown"
        if (args.min_gsd and gsd < args.min_gsd) or (args.max_gsd and gsd > args.max_gsd):
            return "pixel size out of range"
    return None


def _date_scores(
    scenes: list[Scene], args: SearchImageryInput, window: tuple[datetime | None, datetime | None]
) -> dict[str, float]:
    """Date fit of every scene (see the module docstring)."""
    mids: dict[str, float] = {}
    for scene in scenes:
        period = _period(scene)
        if period is not None:
            mids[scene.id] = (period[0].timestamp() + period[1].timestamp()) / 2
    if not mids:
        return {}
    start, end = window
    if start or end:
        lo = start.timestamp() if start else min(mids.values())
        hi = end.timestamp() if end else max(max(mids.values()), lo)
        target = {"latest": hi, "earliest": lo, "middle": (lo + hi) / 2}[args.prefer]
        span = max(hi - lo, 86400.0)
        return {k: max(0.0, 1 - abs(t - target) / span) for k, t in mids.items()}
    if args.prefer == "middle":
        return dict.fromkeys(mids, 1.0)
    lo, hi = min(mids.values()), max(mids.values())
    if hi == lo:
        return dict.fromkeys(mids, 1.0)
    rank = {k: (t - lo) / (hi - lo) for k, t in mids.items()}
    return rank if args.prefer == "latest" else {k: 1 - v for k, v in rank.items()}


def score_item(*, coverage: float | None, cloud_cover: float | None, date_fit: float, gsd: float | None) -> float:
    """Ranking score in 0..1 (formula in the module docstring)."""
    cloud = UNKNOWN_CLOUD_SCORE if cloud_cover is None else 1 - min(max(cloud_cover, 0.0), 100.0) / 100
    resolution = 0.5 if not gsd else min(1.0, 10.0 / gsd) ** 0.5
    parts = {"cloud": cloud, "date": date_fit, "gsd": resolution}
    if coverage is not None:
        parts["coverage"] = coverage
    total_weight = sum(WEIGHTS[k] for k in parts)
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()) / total_weight, 4)


def _found(scene: Scene, *, source: str, coverage: float | None, score: float) -> FoundItem:
    return FoundItem(
        item_id=scene.id,
        collection=scene.collection,
        datetime=scene.datetime,
        date_precision=scene.properties.get("geovigie:date_precision"),
        cloud_cover=scene.cloud_cover,
        gsd_m=scene.gsd,
        coverage_pct=None if coverage is None else round(coverage * 100, 1),
        bands=scene.band_names(),
        georeferenced=scene.georeferenced,
        bbox=scene.bbox,
        platform=scene.properties.get("platform") or scene.properties.get("constellation"),
        source=source,
        score=score,
    )


def _local(
    args: SearchImageryInput, ctx: ToolContext, bbox: BBox | None, notes: list[str]
) -> tuple[dict[str, Scene], list[str]]:
    """Local candidates (by name, or SQL prefilter) and the names that matched nothing."""
    found: dict[str, Scene] = {}
    missing: list[str] = []
    if args.item_ids:
        for ref in args.item_ids:
            matches = match_items(ctx.db, ref)
            if not matches:
                missing.append(ref)
            found.update((s.id, s) for s in matches)
        return found, missing
    start, end = _window(args)
    # Year/month-only dates are stored mid-period: widen the SQL window, then test the periods exactly.
    pad = timedelta(days=366)
    rows = query_items(
        ctx.db,
        bbox=bbox,
        start=start - pad if start else None,
        end=end + pad if end else None,
        collections=args.collections,
    )
    found.update((s.id, s) for s in rows)
    return found, missing


def _remote(
    args: SearchImageryInput, ctx: ToolContext, bbox: BBox | None, missing: list[str]
) -> tuple[dict[str, tuple[Scene, str]], list[str], list[str]]:
    """Remote candidates (cached locally), unreachable URLs and notes."""
    out: dict[str, tuple[Scene, str]] = {}
    unreachable: list[str] = []
    notes: list[str] = []
    if args.item_ids and not missing:
        return out, unreachable, notes
    query = RemoteQuery(
        bbox=bbox,
        start=args.start,
        end=args.end,
        collections=args.collections,
        ids=missing or None,
        max_items=min(max(args.limit * 4, 20), 200),
    )
    urls = ctx.settings.stac_api_urls
    for index, url in enumerate(urls):
        ctx.progress(0.2 + 0.7 * index / len(urls), f"searching {url}")
        result = search_remote(url, query, timeout_s=ctx.settings.stac_timeout_s)
        if not result.ok:
            unreachable.append(url)
            notes.append(f"remote catalog {url} unreachable ({result.error}).")
            continue
        cache_items(ctx.db, result)
        out.update((item["id"], (Scene(item), url)) for item in result.items)
    return out, unreachable, notes


def _describe(item: FoundItem) -> str:
    parts = [item.datetime[:10] if item.datetime else "date unknown"]
    if item.coverage_pct is not None:
        parts.append(f"covers {item.coverage_pct:g} % of the area")
    parts.append("cloud unknown" if item.cloud_cover is None else f"cloud {item.cloud_cover:g} %")
    parts.append("pixel size unknown" if item.gsd_m is None else f"{item.gsd_m:g} m pixels")
    return f"{item.item_id} ({', '.join(parts)})"


def _summary(items: list[FoundItem], total: int, excluded: dict[str, int], sources: list[str]) -> str:
    where = "the local catalog" if len(sources) == 1 else f"the local catalog and {len(sources) - 1} STAC API(s)"
    if not items:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(excluded.items())) or "no candidate"
        return (
            f"No imagery found in {where} for this query (excluded: {why}). "
            "Try widening the dates, raising max_cloud, relaxing the pixel size or enlarging the area."
        )
    head = f"Found {total} matching image(s) in {where}; best: {_describe(items[0])}."
    if len(items) > 1:
        head += " Next: " + "; ".join(_describe(i) for i in items[1:3]) + "."
    return head


@geo_tool(name="search_imagery", input_model=SearchImageryInput)
def search_imagery(args: SearchImageryInput, ctx: ToolContext) -> ToolOutput[SearchImageryResult]:
    """Find satellite or aerial images for an area and a period, best first.

    Call this before any analysis tool: with a bbox (from geocoding) and dates to find scenes covering a
    place; without a bbox to list the catalog; with item_ids to look up images the user named (ids or file
    names such as 'P0706.png', including photos without georeferencing). Filter with max_cloud (%),
    min_gsd/max_gsd (metres: ask max_gsd=1 to count cars or boats) and collections; prefer='latest' ranks
    recent scenes first, 'earliest' old ones (a "before" image), 'middle' the centre of the window.
    Ranking: score = 0.4 AOI coverage + 0.3 (1 - cloud/100) + 0.2 date fit + 0.1 resolution.

    Returns:
        Items with id, date, coverage (% of the area), cloud (%), pixel size (m), collection, bands and
        score. An empty list means nothing matched: widen the dates, raise max_cloud or enlarge the area,
        or tell the user no imagery is available.
    """
    bbox = _validate(args, ctx)
    notes: list[str] = []
    ctx.progress(0.05, "searching the local catalog")
    local, missing = _local(args, ctx, bbox, notes)
    candidates: dict[str, tuple[Scene, str]] = {
        k: (
            s,
            f"{s.properties['geovigie:source_api']} (cached)"
            if "geovigie:source_api" in s.properties
            else LOCAL_SOURCE,
        )
        for k, s in local.items()
    }
    remote, unreachable, remote_notes = (
        _remote(args, ctx, bbox, missing) if ctx.settings.stac_api_urls else ({}, [], [])
    )
    notes += remote_notes
    candidates.update(remote)
    if unreachable and len(unreachable) == len(ctx.settings.stac_api_urls) and not candidates:
        raise UpstreamError(
            f"Every remote STAC API failed ({', '.join(unreachable)}) and the local catalog has no match.",
            hint="Retry later, or ingest local imagery with `geovigie ingest PATH`.",
        )
    still_missing = [r for r in missing if not any(r in k for k in remote)]
    notes += [f"no item named {ref!r} in the catalog." for ref in still_missing]
    result, excluded = _rank(args, bbox, candidates)
    unknown_cloud = sum(1 for i in result if i.cloud_cover is None)
    if args.max_cloud is not None and unknown_cloud:
        notes.append(f"{unknown_cloud} item(s) have unknown cloud cover: kept, ranked as about 40 % cloud.")
    if excluded.get("date unknown"):
        notes.append(f"{excluded['date unknown']} item(s) without an acquisition date were left out by the dates.")
    total = len(result)
    items = result[: args.limit]
    sources = [LOCAL_SOURCE, *ctx.settings.stac_api_urls]
    figures = [Figure(name="items_found", value=float(total), unit="items")]
    if items and items[0].coverage_pct is not None:
        figures.append(Figure(name="best_item_coverage", value=items[0].coverage_pct, unit="%"))
    ctx.progress(1.0, "search done")
    return ToolOutput(
        summary=_summary(items, total, excluded, sources),
        result=SearchImageryResult(items=items, total_matches=total, excluded=excluded, unreachable=unreachable),
        provenance=Provenance(
            tool="search_imagery",
            method="catalog search: SQL prefilter (bbox, dates, collections), exact footprint intersection, "
            "ranked by 0.4 coverage + 0.3 (1 - cloud) + 0.2 date fit + 0.1 resolution",
            scenes=[candidates[i.item_id][0].to_ref() for i in items],
            aoi_bbox=bbox,
            parameters=args.model_dump(mode="json"),
            sources=sources,
        ),
        figures=figures,
        notes=notes,
    )


def _rank(
    args: SearchImageryInput, bbox: BBox | None, candidates: dict[str, tuple[Scene, str]]
) -> tuple[list[FoundItem], dict[str, int]]:
    aoi = _Aoi(bbox) if bbox else None
    window = _window(args)
    excluded: dict[str, int] = {}
    kept: list[tuple[Scene, str]] = []
    for scene, source in candidates.values():
        reason = _exclusion(scene, args, aoi, window, by_name=bool(args.item_ids))
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            kept.append((scene, source))
    date_fit = _date_scores([s for s, _ in kept], args, window)
    found = []
    for scene, source in kept:
        footprint = _footprint(scene) if scene.georeferenced else None
        coverage = aoi.coverage(footprint) if aoi is not None and footprint is not None else None
        score = score_item(
            coverage=coverage, cloud_cover=scene.cloud_cover, date_fit=date_fit.get(scene.id, 0.0), gsd=scene.gsd
        )
        found.append(_found(scene, source=source, coverage=coverage, score=score))
    found.sort(key=lambda i: (-i.score, i.item_id))
    return found, excluded
