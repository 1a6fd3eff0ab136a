"""Evidence files of ``detect_change``: before/after/side-by-side/overlay PNGs, change polygons, class COG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from PIL import Image
from pydantic import BaseModel, Field
from rasterio.enums import Resampling

from geovigie.core.domain import ArtifactRef
from geovigie.tools.base import ToolContext
from geovigie.tools.change import methods as cm
from geovigie.tools.change.pair import PairOutcome
from geovigie.tools.change.series import interval_colour, render_first_change
from geovigie.tools.raster import (
    Grid,
    Scene,
    display_bands,
    downsample_for_display,
    feature_collection,
    hex_legend,
    map_picture,
    mask_to_features,
    overlay_mask,
    read_classes,
    side_by_side,
    to_rgb,
)
from geovigie.tools.segment import read_decimated

MAX_SIDE = 1024
VECTOR_MAX_PIXELS = 25_000_000
"""Largest change mask traced at full resolution (larger ones are decimated by powers of two).

Not lowered to segment's 4 Mpx: nearest-neighbour decimation x8 of a 10 000 px flood mask breaks thin flooded
strips into dots (3 867 polygons instead of 1 233 at x2), so the polygon count would depend on the scene size."""
EXCLUDED_COLOUR = (170, 170, 170)
OKABE_ITO = {
    "blue": (0, 114, 178),
    "vermillion": (213, 94, 0),
    "orange": (230, 159, 0),
    "sky": (86, 180, 233),
    "green": (0, 158, 115),
    "purple": (204, 121, 167),
}
"""Okabe-Ito colours: told apart with the common colour-vision deficiencies (no red/green pairs)."""
COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "flood": (OKABE_ITO["blue"], OKABE_ITO["orange"]),
    "burn": (OKABE_ITO["vermillion"], OKABE_ITO["sky"]),
    "deforestation": (OKABE_ITO["vermillion"], OKABE_ITO["sky"]),
    "urban": (OKABE_ITO["purple"], OKABE_ITO["green"]),
    "generic": (OKABE_ITO["vermillion"], OKABE_ITO["blue"]),
}
"""Overlay colours of the GAIN (preset direction) and LOSS (opposite direction) classes per preset."""


class ChangeArtifacts(BaseModel):
    """Artifact ids written by ``detect_change``."""

    before_png: str
    after_png: str
    side_by_side_png: str
    overlay_png: str
    mask_cog: str
    """Class raster: 0 no change, 1 change (preset direction), 2 opposite direction, 3 cloud, 255 no data;
    for a series, the first-change map (k = first interval with change)."""
    polygons_geojson: str | None
    polygon_count: int
    refs: list[ArtifactRef] = Field(default_factory=list, exclude=True)


def _render(scene: Scene, grid: Grid, small: Grid) -> tuple[np.ndarray, str]:
    bands, label = display_bands(scene)
    unique = list(dict.fromkeys(bands))
    # A decimated read of the same extent uses the files' overviews: a warp onto the small grid would read
    # every full-resolution pixel (minutes for a 20 000 px scene).
    raster = read_decimated(scene, unique, grid, small)
    raster.data = raster.data[[unique.index(b) for b in bands]]
    return downsample_for_display(to_rgb(raster), max_side=MAX_SIDE), label


def _classes_at(path: Path, shape: tuple[int, int]) -> np.ndarray:
    with rasterio.open(path) as src:
        # Nearest-neighbour decimation keeps class values intact.
        return src.read(1, out_shape=shape)


def _day(scene: Scene) -> str:
    return (scene.datetime or "undated")[:10]


Legend = list[tuple[str, tuple[int, int, int]]]


def _overlay(
    rgb: np.ndarray, classes: np.ndarray, outcomes: list[PairOutcome], scenes: list[Scene]
) -> tuple[np.ndarray, Legend]:
    """The change classes blended on the after picture, and their colour key (kept out of the pixels)."""
    if len(outcomes) > 1:
        img = overlay_mask(render_first_change(rgb, classes), classes == cm.EXCLUDED, colour=EXCLUDED_COLOUR)
        series: Legend = [
            (f"first change {_day(scenes[k])} to {_day(scenes[k + 1])}", interval_colour(k + 1))
            for k in range(len(outcomes))
        ]
        return img, series
    plan = outcomes[0].plan
    gain_c, loss_c = COLOURS[plan.preset]
    img = overlay_mask(rgb, classes == cm.GAIN, colour=gain_c, alpha=0.6)
    period = f"{_day(scenes[0])} to {_day(scenes[-1])}"
    entries: Legend = [(f"{plan.spec.labels[0]}, {period}", gain_c)]
    if plan.preset != "generic" and (classes == cm.LOSS).any():
        img = overlay_mask(img, classes == cm.LOSS, colour=loss_c, alpha=0.6)
        counted = "" if cm.LOSS in plan.spec.counted else " (not counted)"
        entries.append((f"{plan.spec.labels[1]}{counted}", loss_c))
    if (classes == cm.EXCLUDED).any():
        img = overlay_mask(img, classes == cm.EXCLUDED, colour=EXCLUDED_COLOUR, alpha=0.6)
        entries.append(("cloud on either date (excluded)", EXCLUDED_COLOUR))
    return img, entries


def _polygons(
    path: Path, grid: Grid, outcomes: list[PairOutcome], scenes: list[Scene], notes: list[str]
) -> tuple[list[dict[str, Any]], int]:
    arr, factor = read_classes(path, max_pixels=VECTOR_MAX_PIXELS)
    if factor > 1:
        notes.append(
            f"Polygons traced on the mask decimated {factor}x and simplified by half a decimated pixel "
            "(areas in the figures use full resolution)."
        )
    small = Grid(crs=grid.crs, transform=grid.transform * Affine.scale(factor), width=arr.shape[1],
                 height=arr.shape[0])  # fmt: skip
    plan = outcomes[0].plan
    base = {"preset": plan.preset, "before_date": scenes[0].datetime, "after_date": scenes[-1].datetime}
    if len(outcomes) > 1:
        layers = [(k + 1, {"first_change_after": scenes[k].datetime, "first_change_before": scenes[k + 1].datetime})
                  for k in range(len(outcomes))]  # fmt: skip
    else:
        layers = [(v, {"direction": plan.spec.labels[0 if v == cm.GAIN else 1]}) for v in plan.spec.counted]
    features: list[dict[str, Any]] = []
    total = 0
    for value, props in layers:
        # Simplifying decimated staircase outlines keeps the GeoJSON of a large scene a few MB, not tens.
        simplify = 0.5 if factor > 1 else 0.0
        feats, count = mask_to_features(arr == value, small, properties={**base, **props}, simplify_px=simplify)
        features += feats
        total += count
    return features, total


def save_change_artifacts(
    ctx: ToolContext,
    scenes: list[Scene],
    grid: Grid,
    outcomes: list[PairOutcome],
    class_path: Path,
    notes: list[str],
) -> ChangeArtifacts:
    """Render and store the evidence of a change run (``scenes`` in time order; see :class:`ChangeArtifacts`)."""
    first, last = scenes[0], scenes[-1]
    small = grid if grid.crs is None else grid.at_most(MAX_SIDE)
    rgb_b, label_b = _render(first, grid, small)
    rgb_a, label_a = _render(last, grid, small)
    bbox = grid.bbox_wgs84
    store = ctx.artifacts
    # Before, after and overlay are warped onto Web Mercator with exact bounds: they line up with the polygons.
    pic_b, bounds_b = map_picture(rgb_b, small, resampling=Resampling.bilinear)
    pic_a, bounds_a = map_picture(rgb_a, small, resampling=Resampling.bilinear)
    refs = [
        store.save_png(pic_b, title=f"Before: {first.id} {_day(first)} ({label_b})", role="before", bbox=bounds_b),
        store.save_png(pic_a, title=f"After: {last.id} {_day(last)} ({label_a})", role="after", bbox=bounds_a),
        store.save_png(side_by_side(rgb_b, rgb_a), title=f"{first.id} {_day(first)} | {last.id} {_day(last)}",
                       role="side_by_side", bbox=bbox),
    ]  # fmt: skip
    classes = _classes_at(class_path, small.shape)
    if classes.shape != rgb_a.shape[:2]:
        classes = np.asarray(Image.fromarray(classes).resize(rgb_a.shape[1::-1], Image.Resampling.NEAREST))
    overlay, legend = _overlay(rgb_a, classes, outcomes, scenes)
    overlay, bounds = map_picture(overlay, small)
    refs.append(store.save_png(overlay, title=f"Change {_day(first)} to {_day(last)} on {last.id}", role="overlay",
                               bbox=bounds, legend=hex_legend(legend)))  # fmt: skip
    features, count = _polygons(class_path, grid, outcomes, scenes, notes)
    geojson_id = None
    if grid.crs is not None:
        collection = feature_collection(features, tool="detect_change", preset=outcomes[0].plan.preset,
                                        before=first.id, after=last.id)  # fmt: skip
        title = f"Change polygons {_day(first)} to {_day(last)}"
        ref = store.save_geojson(collection, title=title, role="polygons", bbox=bbox)
        refs.append(ref)
        geojson_id = ref.id
    else:
        notes.append("Images not georeferenced: no GeoJSON polygons (pixel coordinates only).")
    # The class raster is already a COG on ``grid``: move it into the store rather than read it back whole.
    refs.append(store.save_file(class_path, kind="cog", role="mask", bbox=bbox,
                                title=f"Change classes {_day(first)} to {_day(last)}"))  # fmt: skip
    return ChangeArtifacts(before_png=refs[0].id, after_png=refs[1].id, side_by_side_png=refs[2].id,
                           overlay_png=refs[3].id, mask_cog=refs[-1].id, polygons_geojson=geojson_id,
                           polygon_count=count, refs=refs)  # fmt: skip
