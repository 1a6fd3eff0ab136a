"""The count_objects tool: objects in VHR imagery (boxes) and water bodies or fields (mask components).

Trees, ships, vehicles, buildings and storage tanks are detected one by one, tile by tile (a detection is kept
by the tile whose core holds its centre, so nothing is counted twice); water bodies and fields are connected
components of a mask. Outputs: the count, its density, GeoJSON of boxes/polygons, an overlay PNG and the
method's expected error measured by ``benchmarks/accuracy_count.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, cast

import numpy as np
from affine import Affine
from pydantic import BaseModel, Field
from rasterio.windows import Window

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import NoDataError
from geovigie.tools.base import ProgressFn, ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.count.detectors import (
    CLASS_SPECS,
    EXPECTED_ERROR,
    EXPECTED_REL_ERROR,
    CountedObject,
    DetectedClass,
    Detection,
    ObjectDetector,
)
from geovigie.tools.count.learned import choose_detector, cite_model
from geovigie.tools.count.output import (
    BOX_COLOUR,
    REGION_COLOUR,
    boxes_geojson,
    boxes_overlay,
    regions_geojson,
    regions_overlay,
    thumbnail_factor,
)
from geovigie.tools.count.read import display_sample, nodata_values, read_window, stretch_of, to_uint8
from geovigie.tools.count.regions import RegionCount, count_fields, count_water_bodies
from geovigie.tools.count.scale import PixelSource, Scale, check_resolution, scale_of
from geovigie.tools.raster import (
    Grid,
    Scene,
    display_bands,
    hex_legend,
    iter_tiles,
    map_picture,
    read_bands,
    scene_grid,
)
from geovigie.tools.segment import bands_for

REGION_MAX_SIDE = 4096
"""Mask counts read large AOIs decimated to this side: water bodies and fields are many pixels wide."""
COLOUR_CLASSES = ("tree", "ship")
"""Classes whose offline detector needs true colour (excess green, whiteness)."""
MIN_DETECT_TILE = 2048
"""Detection tiles are at least this wide: fewer seams, and per-scene statistics (Otsu thresholds, crown scale)
are estimated on more context."""


class CountObjectsInput(BaseModel):
    """Arguments of ``count_objects``."""

    item_id: str = Field(description="Catalog item id (from search_imagery) or image file name.")
    object: CountedObject = Field(
        description="What to count: tree, ship, vehicle, building, storage_tank (detected one by one in imagery "
        "of about 1 m or finer), plane, helicopter, harbor, bridge, swimming_pool, sports_field, roundabout "
        "(learned DOTA detector only, 0.1-0.6 m imagery), or water_body, field (connected areas, any resolution)."
    )
    bbox: BBox | None = Field(default=None, description="[west, south, east, north] EPSG:4326; None = whole scene.")
    pixel_size_m: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="Ground pixel size in metres for images without georeferencing (ignored for GeoTIFFs).",
    )
    detector_path: str | None = Field(
        default=None,
        description="Optional detector checkpoint on the server (ultralytics YOLO .pt, DeepForest .ckpt); "
        "None = built-in offline method.",
    )


class CountObjectsResult(BaseModel):
    """Payload of ``count_objects``."""

    item_id: str
    object: str
    count: int
    method: str
    boxes: int
    """Features written to the GeoJSON (boxes, or polygons for water bodies and fields)."""
    coordinates: Literal["EPSG:4326", "pixel"]
    area_km2: float | None
    """Valid area analysed, when the pixel size is known."""
    density_per_km2: float | None
    pixel_size_m: float | None
    pixel_size_source: PixelSource
    approximate: bool
    expected_error: str
    geojson_artifact_id: str
    overlay_artifact_id: str


@geo_tool(name="count_objects", input_model=CountObjectsInput)
def count_objects(args: CountObjectsInput, ctx: ToolContext) -> ToolOutput[CountObjectsResult]:
    """Count trees, ships, vehicles, buildings, storage tanks, planes, water bodies or fields in a scene.

    Use it for "how many ..." questions on very-high-resolution imagery (aerial, drone, Pléiades, DOTA/NEON
    samples). Objects need fine pixels (vehicles and trees 1 m or finer, buildings 2.5 m, storage tanks 3 m,
    ships 10 m for large ones only); coarser imagery is refused with an explanation. Water bodies and fields
    work at any resolution (Sentinel-2 included). Ships, vehicles, storage tanks, planes, harbours, bridges,
    pools and sports fields use the learned DOTA detector (YOLOv8n-OBB, oriented boxes) when installed and the
    pixels are 0.1-0.6 m; otherwise the offline classical detectors run (trees and buildings always). Returns
    the count, density per km² when the pixel size is known, the GeoJSON of boxes (EPSG:4326, or pixel
    coordinates for plain images), an overlay PNG, and the method's measured expected error: counts are
    approximate.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    scene = get_scene(ctx.db, args.item_id)
    if args.object in ("water_body", "field"):
        return _count_regions(args, scene, bbox, ctx)
    return _count_detections(args, scene, bbox, ctx)


# --- detections ----------------------------------------------------------------------------------------------


@dataclass
class _Run:
    detections: list[Detection]
    thumb: np.ndarray
    factor: int
    valid_pixels: int
    tiles: int


def _overlap_px(obj: str, work_m: float, tile_size: int, minimum: int) -> int:
    extent = math.ceil(CLASS_SPECS[obj].max_extent_m / work_m)
    # Objects longer than the overlap are rare (a 150 m ship at 0.25 m); capping keeps tiles cheap.
    return int(min(max(extent, minimum), tile_size // 4))


def _detect(
    scene: Scene,
    bands: list[str],
    grid: Grid,
    detector: ObjectDetector,
    *,
    order: list[int],
    work_m: float,
    tile_size: int,
    overlap: int,
    progress: ProgressFn,
) -> _Run:
    stretch = stretch_of(scene, bands, grid)
    nodata = nodata_values(scene, bands)
    factor = thumbnail_factor(grid)
    thumb = np.zeros((-(-grid.height // factor), -(-grid.width // factor), 3), dtype=np.uint8)
    tiles = list(iter_tiles(grid, tile_size=tile_size, overlap=overlap))
    found: list[Detection] = []
    valid = 0
    for i, tile in enumerate(tiles):
        progress(i / len(tiles), f"tile {i + 1}/{len(tiles)}")
        try:
            data = read_window(scene, bands, grid, tile.read)
        except NoDataError:
            continue
        rows, cols = tile.core_slices()
        valid += int((~np.isnan(data[:, rows, cols]).all(axis=0)).sum())
        rgb = np.ascontiguousarray(to_uint8(data, stretch, nodata)[..., order])
        _paste(thumb, rgb[rows, cols], tile.core, factor)
        c0, r0 = int(tile.core.col_off), int(tile.core.row_off)
        c1, r1 = c0 + int(tile.core.width), r0 + int(tile.core.height)
        for det in detector.detect(rgb, work_m):
            moved = det.shifted(float(tile.read.col_off), float(tile.read.row_off))
            cx, cy = moved.centre
            if c0 <= cx < c1 and r0 <= cy < r1:
                found.append(_clip(moved, grid))
    progress(1.0, "detections done")
    if valid == 0:
        raise NoDataError(
            f"Scene {scene.id} has no valid pixels in the requested area.",
            hint="Move the area of interest onto the imaged part of the scene.",
        )
    return _Run(found, thumb, factor, valid, len(tiles))


def _clip(det: Detection, grid: Grid) -> Detection:
    return replace(
        det, xmin=max(0.0, det.xmin), ymin=max(0.0, det.ymin), xmax=min(float(grid.width), det.xmax),
        ymax=min(float(grid.height), det.ymax),
    )  # fmt: skip


def _paste(thumb: np.ndarray, core_rgb: np.ndarray, core: Window, factor: int) -> None:
    """Put every ``factor``-th pixel of a tile core into the thumbnail (the grid's pixel (i f, j f))."""
    r0, c0 = int(core.row_off), int(core.col_off)
    tr, tc = -(-r0 // factor), -(-c0 // factor)
    part = core_rgb[tr * factor - r0 :: factor, tc * factor - c0 :: factor]
    h = min(part.shape[0], thumb.shape[0] - tr)
    w = min(part.shape[1], thumb.shape[1] - tc)
    thumb[tr : tr + h, tc : tc + w] = part[:h, :w]


def _count_detections(
    args: CountObjectsInput, scene: Scene, bbox: BBox | None, ctx: ToolContext
) -> ToolOutput[CountObjectsResult]:
    obj = args.object
    shown, label = display_bands(scene)
    bands = list(dict.fromkeys(shown))
    grid = scene_grid(scene, bbox, bands=bands, max_pixels=ctx.settings.max_pixels)
    scale = scale_of(obj, grid, scene, args.pixel_size_m)
    notes = scale.notes + check_resolution(obj, scale.pixel_size_m, scene)
    if not label.startswith("true colour") and obj in COLOUR_CLASSES and not args.detector_path:
        notes.append(f"The image is {label}: the {obj} detector relies on true colour (green foliage, white hulls), "
                     "so this count is unreliable.")  # fmt: skip
    detector, model_notes = choose_detector(cast(DetectedClass, obj), args.detector_path, scale.work_m, ctx.settings)
    notes += model_notes
    assert scale.work_m is not None
    tile = max(ctx.settings.tile_size, MIN_DETECT_TILE)
    overlap = _overlap_px(obj, scale.work_m, tile, ctx.settings.tile_overlap)
    run = _detect(
        scene, bands, grid, detector, order=[bands.index(b) for b in shown], work_m=scale.work_m, tile_size=tile,
        overlap=overlap, progress=ctx.progress,
    )  # fmt: skip
    output = _finish(
        args, scene, bbox, ctx, grid=grid, scale=scale, notes=notes, method=detector.name, count=len(run.detections),
        valid_pixels=run.valid_pixels, detections=run.detections, thumb=run.thumb, factor=run.factor,
        parameters={**detector.parameters(scale.work_m), "tile_size": tile, "overlap_px": overlap,
                    "tiles": run.tiles, "display": label},
        checkpoint=bool(args.detector_path),
    )  # fmt: skip
    return cite_model(output, detector)


# --- regions -------------------------------------------------------------------------------------------------


def _count_regions(
    args: CountObjectsInput, scene: Scene, bbox: BBox | None, ctx: ToolContext
) -> ToolOutput[CountObjectsResult]:
    target = "water" if args.object == "water_body" else "vegetation"
    bands = bands_for(target, scene)
    full = scene_grid(scene, bbox, bands=bands, max_pixels=ctx.settings.max_pixels)
    grid, decimation = _region_grid(full)
    ctx.progress(0.1, f"reading {', '.join(bands)}")
    raster = read_bands(scene, bands, grid)
    scale = scale_of(args.object, grid, scene, args.pixel_size_m)
    notes = list(scale.notes)
    if decimation > 1:
        notes.append(f"Large area: analysed at {decimation}x coarser pixels; water bodies/fields smaller than "
                     "a few of those pixels are not counted.")  # fmt: skip
    ctx.progress(0.5, "counting regions")
    regions: RegionCount = (count_water_bodies if target == "water" else count_fields)(raster, scale.pixel_size_m)
    thumb, factor = display_sample(scene, grid)
    return _finish(
        args, scene, bbox, ctx, grid=grid, scale=scale, notes=notes, method=regions.method, count=regions.count,
        valid_pixels=int(raster.valid.sum()), regions=regions, thumb=thumb, factor=factor,
        parameters={**regions.parameters, "decimation": decimation, "bands": bands}, checkpoint=False,
    )  # fmt: skip


def _region_grid(grid: Grid) -> tuple[Grid, int]:
    side = max(grid.width, grid.height)
    if side <= REGION_MAX_SIDE or grid.crs is None:
        return grid, 1
    factor = -(-side // REGION_MAX_SIDE)
    small = Grid(
        crs=grid.crs,
        transform=grid.transform @ Affine.scale(factor),
        width=max(1, grid.width // factor),
        height=max(1, grid.height // factor),
    )
    return small, factor


# --- result --------------------------------------------------------------------------------------------------


def _finish(
    args: CountObjectsInput,
    scene: Scene,
    bbox: BBox | None,
    ctx: ToolContext,
    *,
    grid: Grid,
    scale: Scale,
    notes: list[str],
    method: str,
    count: int,
    valid_pixels: int,
    thumb: np.ndarray,
    factor: int,
    parameters: dict[str, object],
    checkpoint: bool,
    detections: list[Detection] | None = None,
    regions: RegionCount | None = None,
) -> ToolOutput[CountObjectsResult]:
    obj, spec = args.object, CLASS_SPECS[args.object]
    px = scale.pixel_size_m
    area_km2 = valid_pixels * px * px / 1e6 if px is not None else None
    density = count / area_km2 if area_km2 else None
    expected = "unknown: user checkpoint, not benchmarked here" if checkpoint else EXPECTED_ERROR[obj]
    footprint = grid.bbox_wgs84
    props = {"item_id": scene.id, "object": obj, "count": count, "method": method, "pixel_size_m": px}
    title = f"{scene.id} {spec.label}"
    if regions is not None:
        collection = regions_geojson(regions.labels, grid, pixel_size_m=px, properties=props)
        picture = regions_overlay(thumb, regions.labels)
        legend = hex_legend([(f"{count} {spec.label}", REGION_COLOUR)])
    else:
        collection = boxes_geojson(detections or [], grid, pixel_size_m=px, properties=props)
        picture = boxes_overlay(thumb, factor, detections or [])
        legend = hex_legend([(f"{count} {spec.label} ({method})", BOX_COLOUR)])
    geo_ref = ctx.artifacts.save_geojson(collection, title=f"{title} ({count})", role="boxes", bbox=footprint)
    picture, bounds = map_picture(picture, grid)
    png_ref = ctx.artifacts.save_png(picture, title=f"{title}: {count}", role="overlay", bbox=bounds, legend=legend)
    coords: Literal["EPSG:4326", "pixel"] = "EPSG:4326" if grid.crs is not None else "pixel"
    if coords == "pixel":
        notes.append('Image not georeferenced: GeoJSON coordinates are pixels (x right, y down; "crs": "pixel").')
    kind = "user checkpoint" if checkpoint else "offline classical method"
    notes.append(f"Approximate count ({kind}: {method}); expected error: {expected}.")
    if checkpoint:
        notes.append("The checkpoint ran at the image's native resolution: it must be trained at a similar pixel size.")
    result = CountObjectsResult(
        item_id=scene.id, object=obj, count=count, method=method, boxes=len(collection["features"]),
        coordinates=coords, area_km2=round(area_km2, 6) if area_km2 is not None else None,
        density_per_km2=round(density, 2) if density is not None else None, pixel_size_m=px,
        pixel_size_source=scale.source, approximate=True, expected_error=expected,
        geojson_artifact_id=geo_ref.id, overlay_artifact_id=png_ref.id,
    )  # fmt: skip
    rel = None if checkpoint else EXPECTED_REL_ERROR[obj]
    spread = f"about ±{rel:.0%} (benchmark mean error)" if rel is not None else "not measured"
    figures = [Figure(name=f"{spec.label} count", value=count, unit="objects", uncertainty=spread)]
    if density is not None:
        figures.append(Figure(name=f"{spec.label} density", value=round(density, 2), unit="per km²"))
    where = f" in bbox {bbox}" if bbox else ""
    dens = f" ({density:.1f} per km² over {area_km2:.3g} km²)" if density is not None and area_km2 else ""
    summary = (
        f"Counted {count} {spec.label} in {scene.id} ({scene.datetime or 'date unknown'}){where}{dens}. "
        f"Approximate ({method}); see notes for the expected error."
    )
    provenance = Provenance(
        tool="count_objects", method=method, scenes=[scene.to_ref()], crs=grid.crs_string, pixel_size_m=px,
        aoi_bbox=bbox, parameters={"object": obj, "pixel_size_source": scale.source, "detector_pixel_m": scale.work_m,
                                   **parameters},
    )  # fmt: skip
    return ToolOutput(
        summary=summary,
        result=result,
        provenance=provenance,
        figures=figures,
        artifacts=[png_ref, geo_ref],
        notes=notes,
    )
