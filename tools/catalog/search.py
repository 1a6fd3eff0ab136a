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

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import ToolInputError, UpstreamError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog.hosts import RemoteApi
from geovigie.tools.catalog.mosaic import mosaic_items
from geovigie.tools.catalog.rank import (
    Aoi,
    Filters,
    aoi_area_km2,
    date_scores,
    exclusion,
    footprint,
    score_item,
    window,
)
from geovigie.tools.catalog.remote import RemoteQuery, cache_items, search_remote
from geovigie.tools.catalog.store import catalog_size, match_items, query_items
from geovigie.tools.raster import Scene, register_tokens

LOCAL_SOURCE = "local catalog"


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
    collections: list[str] | None = Field(
        None,
        description="Restrict to these collection ids; a mission id such as 'sentinel-2-l2a' or 'landsat-c2-l2' "
        "also selects local items of that mission.",
    )
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
    inside_pct: float | None = None
    """Share of the footprint that lies inside the AOI, percent (a small scene inside a large area: high)."""
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
    catalog_empty: bool = False
    """No imagery at all: the local catalog is empty and no STAC API is configured (dates are not the issue)."""


NO_CATALOG = (
    "There is no imagery at all: the local catalog is empty and no STAC API is configured. Upload a GeoTIFF "
    "(chat Data tab or `geovigie ingest PATH`), set GEOVIGIE_STAC_API_URLS, or run `geovigie ingest --samples`."
)


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


def _filters(args: SearchImageryInput) -> Filters:
    return Filters(
        start=args.start,
        end=args.end,
        max_cloud=args.max_cloud,
        min_gsd=args.min_gsd,
        max_gsd=args.max_gsd,
        collections=args.collections,
        prefer=args.prefer,
        by_name=bool(args.item_ids),
    )


def _found(
    scene: Scene, *, source: str, coverage: float | None, score: float, inside: float | None = None
) -> FoundItem:
    return FoundItem(
        item_id=scene.id,
        collection=scene.collection,
        datetime=scene.datetime,
        date_precision=scene.properties.get("geovigie:date_precision"),
        cloud_cover=scene.cloud_cover,
        gsd_m=scene.gsd,
        coverage_pct=None if coverage is None else round(coverage * 100, 1),
        inside_pct=None if inside is None else round(inside * 100, 1),
        bands=scene.band_names(),
        georeferenced=scene.georeferenced,
        bbox=scene.bbox,
        platform=scene.properties.get("platform") or scene.properties.get("constellation"),
        source=source,
        score=score,
    )


def _local(args: SearchImageryInput, ctx: ToolContext, bbox: BBox | None) -> tuple[dict[str, Scene], list[str]]:
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
    start, end = window(_filters(args))
    # Year/month-only dates are stored mid-period: widen the SQL window, then test the periods exactly.
    pad = timedelta(days=366)
    rows = query_items(
        ctx.db,
        bbox=bbox,
        # Clamped: year 1 minus a year, or 9999 plus one, is outside what datetime can hold.
        start=start - min(pad, start - start.min.replace(tzinfo=start.tzinfo)) if start else None,
        end=end + min(pad, end.max.replace(tzinfo=end.tzinfo) - end) if end else None,
        include_undated=True,
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
    register_tokens(ctx.settings.stac_api_tokens)
    for index, url in enumerate(urls):
        ctx.progress(0.2 + 0.7 * index / len(urls), f"searching {url}")
        api = RemoteApi.from_settings(url, ctx.settings)
        result = search_remote(api, query, timeout_s=ctx.settings.stac_timeout_s)
        if not result.ok:
            unreachable.append(url)
            notes.append(f"remote catalog {url} unreachable ({result.error}).")
            continue
        result.items += mosaic_items(result.items, bbox, url)
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
    local, missing = _local(args, ctx, bbox)
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
    result, excluded = _rank(args, bbox, candidates)
    if unreachable and len(unreachable) == len(ctx.settings.stac_api_urls) and not result:
        # "Nothing found" would be a false answer while every remote catalog is down.
        raise UpstreamError(
            f"Every remote STAC API failed ({', '.join(unreachable)}) and the local catalog has no match.",
            hint="Retry later, or ingest local imagery with `geovigie ingest PATH`.",
        )
    still_missing = [r for r in missing if not any(r in k for k in remote)]
    notes += [f"no item named {ref!r} in the catalog." for ref in still_missing]
    unknown_cloud = sum(1 for i in result if i.cloud_cover is None)
    if args.max_cloud is not None and unknown_cloud:
        notes.append(f"{unknown_cloud} item(s) have unknown cloud cover: kept, ranked as about 40 % cloud.")
    if excluded.get("date unknown"):
        notes.append(f"{excluded['date unknown']} item(s) without an acquisition date were left out by the dates.")
    total = len(result)
    items = result[: args.limit]
    sources = [LOCAL_SOURCE, *ctx.settings.stac_api_urls]
    empty = not candidates and not ctx.settings.stac_api_urls and catalog_size(ctx.db) == 0
    figures = [Figure(name="items_found", value=float(total), unit="items")]
    if items and items[0].coverage_pct is not None:
        figures.append(Figure(name="best_item_coverage", value=items[0].coverage_pct, unit="%"))
    ctx.progress(1.0, "search done")
    return ToolOutput(
        summary=NO_CATALOG if empty else _summary(items, total, excluded, sources),
        result=SearchImageryResult(
            items=items, total_matches=total, excluded=excluded, unreachable=unreachable, catalog_empty=empty
        ),
        provenance=Provenance(
            tool="search_imagery",
            method="catalog search: SQL prefilter (bbox, dates), collection/mission match, exact footprint "
            "intersection, ranked by 0.4 coverage + 0.3 (1 - cloud) + 0.2 date fit + 0.1 resolution",
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
    aoi = Aoi(bbox) if bbox else None
    filters = _filters(args)
    span = window(filters)
    excluded: dict[str, int] = {}
    kept: list[tuple[Scene, str]] = []
    for scene, source in candidates.values():
        reason = exclusion(scene, filters, aoi, span)
        if reason:
            excluded[reason] = excluded.get(reason, 0) + 1
        else:
            kept.append((scene, source))
    date_fit = date_scores([s for s, _ in kept], filters, span)
    found = []
    for scene, source in kept:
        shape_ = footprint(scene) if scene.georeferenced else None
        coverage = aoi.coverage(shape_) if aoi is not None and shape_ is not None else None
        score = score_item(
            coverage=coverage, cloud_cover=scene.cloud_cover, date_fit=date_fit.get(scene.id, 0.0), gsd=scene.gsd
        )
        inside = aoi.inside(shape_) if aoi is not None and shape_ is not None else None
        found.append(_found(scene, source=source, coverage=coverage, score=score, inside=inside))
    found.sort(key=lambda i: (-i.score, i.item_id))
    return found, excluded
