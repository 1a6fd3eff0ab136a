"""The detect_change tool: what changed between two dates (or along a date series), where, and how much."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import ToolInputError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.change import learned_s2
from geovigie.tools.change import methods as cm
from geovigie.tools.change.artifacts import ChangeArtifacts, save_change_artifacts
from geovigie.tools.change.learned import cite_change_model, vhr_pair
from geovigie.tools.change.pair import PairOutcome, run_pair
from geovigie.tools.change.presets import ChangePlan, plan_change
from geovigie.tools.change.results import DetectChangeResult, DirectionArea, IntervalChange
from geovigie.tools.change.series import first_change_map, scene_date, validate_series
from geovigie.tools.models import ModelCard
from geovigie.tools.raster import Execution, Grid, Scene, open_raster, scene_grid


class DetectChangeInput(BaseModel):
    """Arguments of ``detect_change``."""

    before_item_id: str = Field(description="Catalog item id of the earlier image (date 1).")
    after_item_id: str = Field(description="Catalog item id of the later image (date 2); read onto date 1's grid.")
    preset: Literal["flood", "burn", "deforestation", "urban", "generic"] = Field(
        default="generic",
        description="flood = new water (MNDWI/NDWI gain); burn = burn scar (dNBR); deforestation = vegetation "
        "loss (NDVI); urban = built-up change; generic = any spectral change (CVA).",
    )
    bbox: BBox | None = Field(default=None, description="[west, south, east, north] EPSG:4326; None = whole scene.")
    method: Literal["auto", "index_difference", "cva"] = Field(
        default="auto", description="auto = the preset's method; index_difference; cva = change-vector analysis."
    )
    min_area_m2: float | None = Field(
        default=None,
        ge=0,
        description="Minimum mapping unit in m² (smaller change patches are dropped); None = preset default.",
    )
    series_item_ids: list[str] | None = Field(
        default=None,
        description="Multi-date mode: 3+ item ids in time order, first = before_item_id, last = after_item_id.",
    )
    threshold_method: Literal["otsu", "kittler_illingworth", "kmeans"] = Field(
        default="otsu", description="Automatic threshold on the change magnitude."
    )


def _dates_in_order(before: Scene, after: Scene) -> int | None:
    if before.id == after.id:
        raise ToolInputError(
            f"before_item_id and after_item_id are the same item ({before.id}).",
            hint="Choose two acquisitions of the same place at different dates.",
        )
    d1, d2 = scene_date(before), scene_date(after)
    if d1 is None or d2 is None:
        return None
    if d1 > d2:
        raise ToolInputError(
            f"The dates are inverted: {before.id} ({d1.date()}) is later than {after.id} ({d2.date()}).",
            hint="Swap before_item_id and after_item_id.",
        )
    if d1 == d2:
        raise ToolInputError(
            f"{before.id} and {after.id} were acquired at the same time ({d1.isoformat()}).",
            hint="Choose an after image acquired later than the before image.",
        )
    return (d2 - d1).days


def _check_grids(before: Scene, after: Scene) -> None:
    if before.georeferenced != after.georeferenced:
        raise ToolInputError(
            f"Only one of {before.id} and {after.id} is georeferenced, so they cannot be aligned.",
            hint="Compare two georeferenced scenes, or two plain images of identical size.",
        )
    if before.georeferenced:
        return
    sizes = []
    for scene in (before, after):
        with open_raster(scene.bands()[0].href) as src:
            sizes.append((src.width, src.height))
    if sizes[0] != sizes[1]:
        raise ToolInputError(
            f"{before.id} is {sizes[0][0]}x{sizes[0][1]} px and {after.id} is {sizes[1][0]}x{sizes[1][1]} px; "
            "images without georeferencing can only be compared pixel to pixel when they have the same size.",
            hint="Compare images of identical size, or use georeferenced GeoTIFFs.",
        )


def _pixel_area(grid: Grid, before: Scene, notes: list[str]) -> float | None:
    area = grid.pixel_area_m2()
    if area is None and before.gsd is not None:
        notes.append(f"Image not georeferenced: areas use the nominal pixel size of {before.gsd:g} m.")
        return before.gsd**2
    if area is None:
        notes.append("Image not georeferenced and pixel size unknown: areas are in pixels.")
    return area


def _m2(pixels: int, area: float | None) -> float | None:
    return round(pixels * area, 1) if area is not None else None


def _rounded(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _fmt_area(m2: float | None, pixels: int) -> str:
    if m2 is None:
        return f"{pixels:,} px"
    if m2 >= 1e6:
        return f"{m2 / 1e6:.2f} km²"
    return f"{m2 / 1e4:.2f} ha" if m2 >= 1e4 else f"{m2:.0f} m²"


@geo_tool(name="detect_change", input_model=DetectChangeInput)
def detect_change(args: DetectChangeInput, ctx: ToolContext) -> ToolOutput[DetectChangeResult]:
    """Map and measure change between two images of the same place (or along a dated series of 3+ images).

    Use it for "what changed / how much was flooded, burned, cleared or built between date A and date B".
    Presets: flood (new water, MNDWI/NDWI gain), burn (dNBR ≥ 0.1), deforestation (NDVI loss of vegetated
    pixels), urban (built-up change; on 0.2-1 m RGB pairs the learned TinyCD building-change model when
    installed), generic (any change, change-vector analysis; works on RGB-only pairs).
    Thresholds are automatic (Otsu); pixels cloudy on either date are excluded. Returns the changed area (m²)
    and its % of the analysed area, gain/loss areas, polygon count, dates and days between, plus before/after/
    overlay PNGs, change polygons (GeoJSON EPSG:4326) and the change mask (COG). With series_item_ids:
    per-interval areas and a first-change date map.
    """
    ids = args.series_item_ids or [args.before_item_id, args.after_item_id]
    if args.series_item_ids is not None and (ids[0] != args.before_item_id or ids[-1] != args.after_item_id):
        raise ToolInputError(
            "series_item_ids must start with before_item_id and end with after_item_id.",
            hint=f"Use before_item_id={ids[0]!r} and after_item_id={ids[-1]!r}, or reorder the series.",
        )
    scenes = [get_scene(ctx.db, i) for i in ids]
    if args.series_item_ids is not None:
        validate_series(scenes)
    days = [_dates_in_order(b, a) for b, a in zip(scenes, scenes[1:], strict=False)]
    for b, a in zip(scenes, scenes[1:], strict=False):
        _check_grids(b, a)
    bbox = validate_bbox(args.bbox) if args.bbox else None
    plans = [
        plan_change(
            b, a, args.preset, args.method, threshold_method=args.threshold_method, min_area_m2=args.min_area_m2
        )
        for b, a in zip(scenes, scenes[1:], strict=False)
    ]
    first = scenes[0]
    grid = scene_grid(first, bbox, bands=plans[0].bands_before, max_pixels=ctx.settings.max_pixels)
    notes: list[str] = list(dict.fromkeys(n for p in plans for n in p.notes))
    area = _pixel_area(grid, first, notes)
    s2 = learned_s2.choose(args.preset, args.method, scenes, grid, ctx.settings, notes)
    ctx.artifacts.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ctx.artifacts.root) as tmp:
        outcomes = []
        used: ModelCard | None = None
        for k, (plan, b, a) in enumerate(zip(plans, scenes, scenes[1:], strict=False)):
            share = 1 / len(plans)

            def progress(f: float, m: str, k: int = k, share: float = share) -> None:
                ctx.progress(0.9 * (k + f) * share, m)

            execution = Execution.from_context(ctx, tool="detect_change", title=f"{args.preset} {b.id} -> {a.id}")
            if s2 is not None:  # Sentinel-2 urban change: the network trained here on OSCD (learned_s2.py)
                outcomes.append(learned_s2.run(s2, plan, b, a, grid, settings=ctx.settings, progress=progress,
                                               out_path=Path(tmp) / "s2.tif", execution=execution))  # fmt: skip
                continue
            if vhr := vhr_pair(plan, b, a, grid, ctx.settings, notes, Path(tmp) / f"interval{k}.tif", progress):
                outcomes.append(vhr[0])
                used = vhr[1]
                continue
            outcomes.append(run_pair(plan, b, a, grid, tile_size=ctx.settings.tile_size,
                                     overlap=ctx.settings.tile_overlap, out_path=Path(tmp) / f"interval{k}.tif",
                                     pixel_area_m2=area, progress=progress, execution=execution))  # fmt: skip
        result_path, histogram = _combined(outcomes, grid, Path(tmp), ctx.settings.tile_size)
        ctx.progress(0.92, "rendering")
        arts = save_change_artifacts(ctx, scenes, grid, outcomes, result_path, notes)
    ctx.progress(1.0, "done")
    output = cite_change_model(_output(args, scenes, days, grid, area, outcomes, histogram, arts, notes, bbox), used)
    return learned_s2.cite_s2(output, s2) if s2 is not None else output


def _combined(outcomes: list[PairOutcome], grid: Grid, tmp: Path, tile_size: int) -> tuple[Path, dict[int, int] | None]:
    """The pair's class raster, or for a series the first-change map (with its histogram)."""
    if len(outcomes) == 1:
        path = outcomes[0].tiled.path
        assert path is not None
        return path, None
    paths = [o.tiled.path for o in outcomes if o.tiled.path is not None]
    out = tmp / "first_change.tif"
    hist = first_change_map(paths, [o.plan.spec.counted for o in outcomes], grid, out, tile_size=tile_size)
    return out, hist


def _directions(o: PairOutcome, area: float | None) -> list[DirectionArea]:
    if o.plan.preset == "generic":
        return []
    labels = o.plan.spec.labels
    return [
        DirectionArea(direction=labels[i], pixels=o.pixels(v), area_m2=_m2(o.pixels(v), area),
                      counted=v in o.plan.spec.counted)
        for i, v in enumerate((cm.GAIN, cm.LOSS))
    ]  # fmt: skip


def _intervals(
    scenes: list[Scene], days: list[int | None], outcomes: list[PairOutcome], hist: dict[int, int], area: float | None
) -> list[IntervalChange]:
    out = []
    for k, o in enumerate(outcomes):
        b, a = scenes[k], scenes[k + 1]
        pct = 100 * o.changed_pixels / o.analysed_pixels if o.analysed_pixels else 0.0
        out.append(IntervalChange(before_item_id=b.id, after_item_id=a.id, before_date=b.datetime,
                                  after_date=a.datetime, days_between=days[k], changed_pixels=o.changed_pixels,
                                  changed_area_m2=_m2(o.changed_pixels, area), changed_pct=round(pct, 3),
                                  first_change_pixels=hist.get(k + 1, 0),
                                  threshold=_rounded(o.calibration.threshold)))  # fmt: skip
    return out


def _output(
    args: DetectChangeInput,
    scenes: list[Scene],
    days: list[int | None],
    grid: Grid,
    area: float | None,
    outcomes: list[PairOutcome],
    hist: dict[int, int] | None,
    arts: ChangeArtifacts,
    notes: list[str],
    bbox: BBox | None,
) -> ToolOutput[DetectChangeResult]:
    first, last, main = scenes[0], scenes[-1], outcomes[0]
    if hist is None:
        changed, analysed = main.changed_pixels, main.analysed_pixels
        excluded = main.pixels(cm.EXCLUDED) / main.tiled.valid_pixels if main.tiled.valid_pixels else 0.0
        intervals: list[IntervalChange] = []
        directions = _directions(main, area)
    else:
        changed = sum(v for k, v in hist.items() if k > 0)
        analysed = sum(hist.values())
        excluded = max(o.pixels(cm.EXCLUDED) / max(o.tiled.valid_pixels, 1) for o in outcomes)
        intervals = _intervals(scenes, days, outcomes, hist, area)
        directions = []
    total_days = sum(d for d in days if d is not None) if all(d is not None for d in days) else None
    pct = 100 * changed / analysed if analysed else 0.0
    threshold = _rounded(main.calibration.threshold)
    if threshold is None:
        notes.append("The change magnitude has no spread over the area (identical images?): nothing is changed.")
    if excluded > 0:
        notes.append(f"{100 * excluded:.1f} % of the valid pixels were cloudy on one date and excluded.")
    coverage = min(o.tiled.coverage for o in outcomes)
    if coverage < 1:
        notes.append(f"Partial result: {coverage:.1%} of the AOI's tiles were processed (cancelled or failed "
                     "tiles); areas cover only those tiles. Ask again to resume the run.")  # fmt: skip
    unit: Literal["m2", "px"] = "m2" if area is not None else "px"
    result = DetectChangeResult(
        preset=args.preset, method=main.plan.method, threshold_method=args.threshold_method, threshold=threshold,
        before_item_id=first.id, after_item_id=last.id, before_date=first.datetime, after_date=last.datetime,
        days_between=total_days, changed_pixels=changed, changed_area_m2=_m2(changed, area),
        changed_pct_of_valid=round(pct, 3), valid_pixels=analysed, valid_area_m2=_m2(analysed, area),
        cloud_excluded_pct=round(100 * excluded, 2), polygon_count=arts.polygon_count, directions=directions,
        pixel_size_m=area**0.5 if area is not None else None, area_unit=unit, intervals=intervals, artifacts=arts,
    )  # fmt: skip
    return ToolOutput(
        summary=_summary(result, main.plan, len(outcomes)),
        result=result,
        provenance=_provenance(args, scenes, grid, outcomes, bbox),
        figures=_figures(result),
        artifacts=arts.refs,
        notes=notes,
    )


def _summary(r: DetectChangeResult, plan: ChangePlan, intervals: int) -> str:
    what = {"flood": "New water", "burn": "Burned area", "deforestation": "Vegetation loss",
            "urban": "Built-up change", "generic": "Change"}[r.preset]  # fmt: skip
    d1 = (r.before_date or "date unknown")[:10]
    d2 = (r.after_date or "date unknown")[:10]
    span = f", {r.days_between} days" if r.days_between is not None else ""
    series = f" over {intervals} intervals (first change mapped per interval)" if intervals > 1 else ""
    if plan.method == "index_difference" and plan.index:
        how = f"{plan.index.upper()} difference"
    else:
        how = f"change-vector analysis of {'/'.join(plan.cva_bands)}"
    thr = f", {r.threshold_method} threshold {r.threshold:g}" if r.threshold is not None else ""
    return (
        f"{what} between {r.before_item_id} ({d1}) and {r.after_item_id} ({d2}{span}){series}: "
        f"{_fmt_area(r.changed_area_m2, r.changed_pixels)} = {r.changed_pct_of_valid:.2f} % of the "
        f"{_fmt_area(r.valid_area_m2, r.valid_pixels)} analysed, {r.polygon_count} polygon(s) "
        f"({how}{thr})."
    )


def _figures(r: DetectChangeResult) -> list[Figure]:
    unit = "m2" if r.area_unit == "m2" else "px"
    value = r.changed_area_m2 if r.changed_area_m2 is not None else float(r.changed_pixels)
    figs = [
        Figure(name="changed_area", value=value, unit=unit),
        Figure(name="changed_pct_of_valid_area", value=r.changed_pct_of_valid, unit="%"),
        Figure(name="change_polygons", value=r.polygon_count, unit="count"),
        Figure(name="cloud_excluded", value=r.cloud_excluded_pct, unit="%"),
    ]
    if r.days_between is not None:
        figs.append(Figure(name="days_between", value=r.days_between, unit="days"))
    for d in r.directions:
        v = d.area_m2 if d.area_m2 is not None else float(d.pixels)
        figs.append(Figure(name=f"area_{d.direction.split(' (')[0].replace(' ', '_')}", value=v, unit=unit))
    for i in r.intervals:
        v = i.changed_area_m2 if i.changed_area_m2 is not None else float(i.changed_pixels)
        figs.append(Figure(name=f"changed_area_{(i.before_date or '')[:10]}_{(i.after_date or '')[:10]}", value=v,
                           unit=unit))  # fmt: skip
    return figs


def _provenance(
    args: DetectChangeInput, scenes: list[Scene], grid: Grid, outcomes: list[PairOutcome], bbox: BBox | None
) -> Provenance:
    main = outcomes[0]
    plan, cal = main.plan, main.calibration
    params: dict[str, Any] = {
        "preset": args.preset, "method": plan.method, "index": plan.index, "cva_bands": plan.cva_bands,
        "threshold_method": args.threshold_method, "thresholds": [o.calibration.threshold for o in outcomes],
        "index_floor": plan.spec.floor, "min_area_m2": plan.min_area_m2, "min_pixels": main.min_pixels,
        "open_radius_px": plan.spec.open_radius_px, "cloud_screening": plan.cloud,
        "masks": cal.mask_methods, "radiometric_matching": cal.stats.as_dict(),
        "sample": {"tiles": cal.sample_tiles, "pixels": cal.sample_pixels}, "tiles": main.tiled.tiles,
    }  # fmt: skip
    method = (
        f"{args.preset}: {'index difference' if plan.method == 'index_difference' else 'change-vector analysis'}"
        f"{f' ({plan.index})' if plan.index else ''}, date 2 read onto date 1's grid, {args.threshold_method} "
        f"threshold from a {cal.sample_tiles}-tile sample, opening {plan.spec.open_radius_px} px, "
        f"minimum mapping unit {plan.min_area_m2:g} m²"
    )
    return Provenance(
        tool="detect_change",
        method=method,
        scenes=[s.to_ref() for s in scenes],
        crs=grid.crs_string,
        pixel_size_m=grid.pixel_size_m,
        aoi_bbox=bbox,
        parameters=params,
    )
