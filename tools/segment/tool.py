"""The segment tool: water, vegetation, built-up, cloud or land-cover maps of a scene, with areas and polygons."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import rasterio
from pydantic import BaseModel, Field

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import TooCloudyError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.raster import (
    Execution,
    Grid,
    Scene,
    TiledResult,
    feature_collection,
    hex_legend,
    map_picture,
    run_tiled,
    scene_grid,
)
from geovigie.tools.segment import landcover
from geovigie.tools.segment.class_map import MAX_FEATURES, MIN_POLYGON_PIXELS, PolygonSet, class_polygons, overlay_png
from geovigie.tools.segment.indices import IndexName
from geovigie.tools.segment.masks import Target
from geovigie.tools.segment.plan import CLOUDY, FOREGROUND, SegmentPlan, covers, read_sample, sample_windows
from geovigie.tools.segment.results import ClassArea, SegmentResult
from geovigie.tools.segment.sar import SAR_CAVEAT


class SegmentInput(BaseModel):
    """Arguments of ``segment``."""

    item_id: str = Field(description="Catalog item id (from search_imagery) or image file name.")
    target: Target = Field(description="What to map: water, vegetation, built_up, cloud, or landcover (all classes).")
    bbox: BBox | None = Field(default=None, description="[west, south, east, north] EPSG:4326; None = whole scene.")
    index: IndexName | None = Field(
        default=None,
        description="Force the index: water mndwi|ndwi, vegetation ndvi, built_up ndbi; for cloud/landcover only "
        "reported as statistics. None = best available.",
    )
    threshold: float | None = Field(
        default=None,
        ge=-40,
        le=1,
        description="Index threshold override (-1..1), or VV backscatter in dB for water on a radar (Sentinel-1) "
        "scene (e.g. -18); None = automatic (Otsu, clamped).",
    )


MAX_CLOUD_FRACTION = 0.8
TILE_WORKERS = min(4, os.cpu_count() or 1)
"""Tiles classified at once (threads: GDAL reads and numpy release the GIL)."""


def _check_cloud(fraction: float | None, plan: SegmentPlan, scene: Scene, cog: Path | None) -> None:
    if plan.target == "cloud" or fraction is None or fraction <= MAX_CLOUD_FRACTION:
        return
    if cog is not None:
        cog.unlink(missing_ok=True)
    raise TooCloudyError(
        f"Scene {scene.id} ({scene.datetime or 'date unknown'}) is {fraction:.0%} cloud over the area "
        f"({plan.cloud_method.index if plan.cloud_method else 'cloud test'}).",
        hint="Choose another date (search_imagery with a lower max cloud cover) or move the AOI to a clear part.",
    )


_LABELS: dict[str, tuple[str, tuple[int, int, int]]] = {
    "water": ("water", (30, 100, 220)),
    "vegetation": ("vegetation", (40, 170, 60)),
    "built_up": ("built-up", (215, 40, 40)),
    "cloud": ("cloud", (255, 0, 200)),
}
_CLOUD_EXCLUDED = ("cloud (excluded)", (245, 245, 245))


@geo_tool(name="segment", input_model=SegmentInput)
def segment(args: SegmentInput, ctx: ToolContext) -> ToolOutput[SegmentResult]:
    """Map water, vegetation, built-up, cloud, or a land-cover classification over a scene or an AOI inside it.

    Use it to measure "how much water / forest / city is there", flooded or vegetated areas, or cloud cover of
    one scene (compare two dates with detect_change). Thresholds are automatic (Otsu on MNDWI/NDWI/NDVI,
    clamped to sane ranges) unless ``threshold`` is given; cloudy pixels are screened (s2cloudless on
    Sentinel-2 L1C, threshold tests otherwise) and excluded, and a scene over 80 % cloud raises an error.
    RGB-only imagery gives approximate water/vegetation and no built-up. Radar (Sentinel-1 VV/VH in dB) scenes
    map water only, as low backscatter (Otsu on VV, clamped to [-24, -12] dB; no cloud screening needed;
    smooth surfaces such as tarmac or sand may count as water). Large AOIs are processed in tiles.
    ``landcover`` classes: water, tree cover, grass / low vegetation, bare soil / sparse, built-up, cloud.

    Returns the area (m², or pixels for plain images), its share of the clear AOI, the cloud share, index
    statistics, polygon count, per-class areas for landcover, and artifacts: the class raster (COG),
    polygons (GeoJSON EPSG:4326) and a colour overlay PNG with legend.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    scene = get_scene(ctx.db, args.item_id)
    plan = SegmentPlan(
        scene, args.target, index=args.index, threshold=args.threshold, cloud_masker=ctx.settings.cloud_masker
    )
    grid = scene_grid(scene, bbox, bands=plan.read, max_pixels=ctx.settings.max_pixels)
    execution = Execution.from_context(ctx, tool="segment", title=f"segment {args.target} {scene.id}")
    overlap = ctx.settings.tile_overlap if plan.needs_context else 0
    execution.check([scene], [plan.read], grid, tile_size=ctx.settings.tile_size, overlap=overlap)  # before any read
    ctx.progress(0.02, "sampling the area to fix thresholds")
    windows = sample_windows(grid)
    sample_cloud, stats = plan.calibrate(read_sample(scene, plan.read, grid, windows))
    if covers(windows, grid):
        _check_cloud(sample_cloud, plan, scene, None)
    execution.params = {"target": args.target, "index": args.index, **_thresholds(plan)}
    cog = ctx.artifacts.root / f".segment-{uuid.uuid4().hex}.tif"
    try:
        # One GDAL environment for the whole run: otherwise every band read of every tile sets one up.
        with rasterio.Env():
            tiled = run_tiled(
                scenes=[scene],
                bands=[plan.read],
                grid=grid,
                fn=plan.classify,
                tile_size=ctx.settings.tile_size,
                overlap=overlap,
                out_path=cog,
                progress=lambda f, m: ctx.progress(0.1 + 0.75 * f, m),
                workers=TILE_WORKERS,
                execution=execution,
            )
        cloud_code = landcover.CLOUD if args.target == "landcover" else CLOUDY
        cloud_fraction = tiled.fraction(cloud_code) if plan.cloud_bands else None
        if args.target == "cloud":
            cloud_fraction = tiled.fraction(FOREGROUND)
        _check_cloud(cloud_fraction, plan, scene, cog)
        ctx.progress(0.88, "vectorising and rendering")
        sampled = 0 if covers(windows, grid) else len(windows)
        return _output(plan, ctx, grid, bbox, tiled, cog, stats, cloud_fraction, sampled)
    finally:
        cog.unlink(missing_ok=True)


def _classes_of(plan: SegmentPlan) -> dict[int, tuple[str, tuple[int, int, int]]]:
    if plan.target == "landcover":
        return dict(landcover.CLASSES)
    out = {FOREGROUND: _LABELS[plan.target]}
    if plan.cloud_bands and plan.target != "cloud":
        out[CLOUDY] = _CLOUD_EXCLUDED
    return out


def _area_text(area_m2: float | None, pixels: int) -> str:
    if area_m2 is None:
        return f"{pixels:,} px"
    return f"{area_m2 / 1e6:,.3f} km²" if area_m2 >= 1e5 else f"{area_m2:,.0f} m²"


def _thresholds(plan: SegmentPlan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    methods = [plan.method] if plan.method else []
    if plan.params is not None:
        methods = [plan.params.water, plan.params.vegetation]
        out["tree_ndmi"] = landcover.TREE_NDMI if plan.params.has_swir else None
    if plan.cloud_method is not None:
        methods.append(plan.cloud_method)
    for m in methods:
        out[f"{m.target}_{m.index}"] = m.threshold
        out[f"{m.target}_source"] = m.threshold_source
        out.update({f"{m.target}_{k}": v for k, v in m.extra.items()})
    return out


def _output(
    plan: SegmentPlan,
    ctx: ToolContext,
    grid: Grid,
    bbox: BBox | None,
    tiled: TiledResult,
    cog: Path,
    stats: dict[str, float | None],
    cloud_fraction: float | None,
    windows: int,
) -> ToolOutput[SegmentResult]:
    scene, target = plan.scene, plan.target
    classes = _classes_of(plan)
    cloud_code = landcover.CLOUD if target == "landcover" else CLOUDY
    cloud_px = tiled.histogram.get(cloud_code, 0) if target != "cloud" else 0
    valid, px_area = tiled.valid_pixels, grid.pixel_area_m2()
    clear = valid - cloud_px
    footprint = grid.bbox_wgs84
    title = f"{scene.id} {scene.datetime or ''} {target}".replace("  ", " ")
    cog_ref = ctx.artifacts.save_file(cog, kind="cog", title=f"{title} class raster", role="mask", bbox=footprint)
    names = {c: n for c, (n, _) in classes.items() if not (c == CLOUDY and target != "landcover")}
    polys = class_polygons(Path(cog_ref.path), grid, names, properties={"item_id": scene.id, "target": target})
    areas = []
    for code, (name, _) in classes.items():
        n = tiled.histogram.get(code, 0)
        denom = valid if code == cloud_code or target == "cloud" else clear
        area = n * px_area if px_area is not None else None
        areas.append(
            ClassArea(
                code=code,
                name=name,
                pixels=n,
                fraction=round(n / denom, 6) if denom else 0.0,
                area_m2=area,
                polygons=polys.total.get(code, 0),
            )
        )
    legend = {
        a.code: (
            f"{a.name}: {_area_text(a.area_m2, a.pixels)} ({a.fraction:.1%})",
            classes[a.code][1],
        )
        for a in areas
    }
    picture, bounds = map_picture(overlay_png(scene, grid, Path(cog_ref.path), legend), grid)
    method = plan.params.describe() if plan.params else (plan.method.description if plan.method else "")
    cloud_desc = plan.cloud_method.description if plan.cloud_method else None
    if target == "cloud":
        method = cloud_desc or ""
    collection = feature_collection(
        polys.features,
        item_id=scene.id,
        datetime=scene.datetime,
        target=target,
        method=method,
        decimation=polys.factor,
        crs="EPSG:4326" if grid.crs is not None else "pixel coordinates",
    )
    artifacts = [
        ctx.artifacts.save_png(
            picture,
            title=f"{title} overlay",
            role="overlay",
            bbox=bounds or footprint,
            legend=hex_legend(list(legend.values())),
        ),  # fmt: skip
        ctx.artifacts.save_geojson(collection, title=f"{title} polygons", role="polygons", bbox=footprint),
        cog_ref,
    ]
    fg = next((a for a in areas if a.code == FOREGROUND), None) if target != "landcover" else None
    result = SegmentResult(
        item_id=scene.id,
        datetime=scene.datetime,
        target=target,
        method=method if target == "cloud" or not cloud_desc else f"{method}; cloud screening: {cloud_desc}",
        approximate=bool(plan.method and plan.method.approximate)
        or bool(plan.cloud_method and plan.cloud_method.approximate),
        fraction=fg.fraction if fg else None,
        area_m2=fg.area_m2 if fg else None,
        area_px=fg.pixels if fg else clear,
        polygon_count=sum(polys.total.values()),
        polygons_area_m2=sum(polys.area.values()) if grid.crs is not None else None,
        classes=areas,
        index=plan.stats_index,
        index_stats=stats,
        cloud_fraction=round(cloud_fraction, 6) if cloud_fraction is not None else None,
        cloud_method=plan.cloud_method.index if plan.cloud_method else ("not needed: radar" if plan.sar else None),
        valid_pixels=valid,
        clear_pixels=clear,
        thresholds=_thresholds(plan),
        tiles=tiled.tiles,
        coverage=round(tiled.coverage, 6),
        run_id=tiled.run_id,
    )
    return ToolOutput(
        summary=_summary(result, scene, clear, px_area),
        result=result,
        provenance=Provenance(
            tool="segment",
            method=result.method,
            scenes=[scene.to_ref()],
            crs=grid.crs_string,
            pixel_size_m=grid.pixel_size_m,
            aoi_bbox=bbox,
            parameters={
                "target": target,
                "index": plan.index,
                "threshold": plan.threshold,
                "bands": plan.read,
                "tile_size": ctx.settings.tile_size,
                **result.thresholds,
            },
        ),
        figures=_figures(result, px_area),
        artifacts=artifacts,
        notes=_notes(plan, result, polys, windows, grid),
    )


def _summary(result: SegmentResult, scene: Scene, clear: int, px_area: float | None) -> str:
    cloud = (
        f"cloud {result.cloud_fraction:.1%} of the AOI ({result.cloud_method})"
        if result.cloud_fraction is not None
        else f"no cloud screening ({result.cloud_method})"
        if result.cloud_method
        else "no cloud screening"
    )
    where = f"{scene.id} ({scene.datetime or 'date unknown'})"
    if result.target == "landcover":
        top = sorted((c for c in result.classes if c.name != "cloud"), key=lambda c: -c.pixels)[:4]
        parts = ", ".join(f"{c.name} {c.fraction:.1%} ({_area_text(c.area_m2, c.pixels)})" for c in top)
        return f"Land cover of {where}: {parts}; {cloud}."
    label = _LABELS[result.target][0]
    total = _area_text(clear * px_area if px_area is not None else None, clear)
    first = (
        f"{label.capitalize()} covers {_area_text(result.area_m2, result.area_px)} = {result.fraction or 0:.1%} "
        f"of the {total} {'valid' if result.target == 'cloud' else 'clear'} area of {where}"
    )
    return f"{first}, {result.polygon_count} polygons; {cloud}. Method: {result.method.split(';')[0]}."


def _figures(result: SegmentResult, px_area: float | None) -> list[Figure]:
    unit = "m²" if px_area is not None else "px"
    chosen = result.classes if result.target == "landcover" else [c for c in result.classes if c.code == FOREGROUND]
    figures = []
    for c in chosen:
        value = c.area_m2 if c.area_m2 is not None else float(c.pixels)
        figures.append(Figure(name=f"{c.name} area", value=round(value, 1), unit=unit))
        share = "valid" if c.name == "cloud" else "clear"
        figures.append(Figure(name=f"{c.name} share of {share} AOI", value=round(100 * c.fraction, 3), unit="%"))
    if result.cloud_fraction is not None and result.target not in ("cloud", "landcover"):
        figures.append(Figure(name="cloud cover of AOI", value=round(100 * result.cloud_fraction, 3), unit="%"))
    figures.append(Figure(name=f"{result.target} polygons", value=result.polygon_count, unit="count"))
    return figures


def _notes(plan: SegmentPlan, result: SegmentResult, polys: PolygonSet, windows: int, grid: Grid) -> list[str]:
    notes = [plan.cloud_note] if plan.cloud_note else []
    if result.coverage < 1:
        notes.append(
            f"Partial result: {result.coverage:.1%} of the AOI's tiles were processed (the run was cancelled or "
            "tiles failed); areas and shares cover only those tiles. Ask again to resume the run."
        )
    if plan.sar:
        notes.append(SAR_CAVEAT)
    for m in (plan.method, plan.cloud_method):
        if m is not None and m.approximate:
            notes.append(f"Approximate {m.target} method: {m.description}.")
    if result.cloud_fraction and result.target != "cloud":
        notes.append(f"Cloudy pixels ({result.cloud_fraction:.1%} of the AOI) are excluded from shares and areas.")
    if plan.target in ("built_up", "landcover") and plan.scene.has_bands("swir16"):
        notes.append("NDBI cannot tell bare soil from buildings: bright bare surfaces may count as built-up.")
    if windows:
        notes.append(
            f"Thresholds and index statistics were estimated on {windows} windows (up to 256x256 px) spread over "
            "the AOI; areas and shares use every pixel."
        )
    if polys.factor > 1:
        notes.append(
            f"Polygons were traced on the class raster decimated x{polys.factor} "
            f"(~{polys.pixel_size_m or 0:.0f} m pixels): outlines and polygon areas are approximate."
        )
    if any(t > MAX_FEATURES // max(1, len(polys.total)) for t in polys.total.values()):
        notes.append("The GeoJSON keeps only the largest polygons; the polygon count includes all of them.")
    notes.append(f"Polygons under {MIN_POLYGON_PIXELS} px are dropped from the GeoJSON (their pixels still count).")
    if grid.crs is None:
        notes.append("The image is not georeferenced: areas are in pixels and polygons in pixel coordinates.")
    return notes
