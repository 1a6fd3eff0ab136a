"""Pixel size for ``count_objects``: where it comes from, and whether it is fine enough for the object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from geovigie.core.errors import ResolutionTooCoarseError
from geovigie.tools.count.detectors import CLASS_SPECS
from geovigie.tools.raster import Grid, Scene

PixelSource = Literal["georeferencing", "argument", "catalog", "assumed", "unknown"]


@dataclass
class Scale:
    """The pixel size a count uses, its source, and the notes that explain it."""

    pixel_size_m: float | None
    """Known pixel size (None when unknown)."""
    source: PixelSource
    work_m: float | None
    """Pixel size given to the detector (the known one, or an assumed nominal one)."""
    notes: list[str]


def scale_of(obj: str, grid: Grid, scene: Scene, given: float | None) -> Scale:
    """Pixel size from the georeferencing, else the argument, else the catalog, else a nominal guess."""
    notes: list[str] = []
    if grid.pixel_size_m is not None:
        px = grid.pixel_size_m
        if given is not None and abs(given - px) > 0.05 * px:
            notes.append(f"pixel_size_m={given:g} was ignored: the image is georeferenced at {px:.3g} m.")
        return Scale(px, "georeferencing", px, notes)
    if given is not None:
        return Scale(given, "argument", given, notes)
    if scene.gsd is not None:
        notes.append(f"Pixel size {scene.gsd:g} m taken from the catalog (the image has no georeferencing).")
        return Scale(scene.gsd, "catalog", scene.gsd, notes)
    nominal = CLASS_SPECS[obj].nominal_pixel_m
    if obj in ("water_body", "field"):
        notes.append("Pixel size unknown: sizes are in pixels and no density is given; pass pixel_size_m.")
        return Scale(None, "unknown", None, notes)
    notes.append(
        f"Pixel size unknown: the detector assumed {nominal:g} m (typical imagery for this object); sizes are in "
        "pixels, no density is given, and the count depends on that guess: pass pixel_size_m."
    )
    return Scale(None, "assumed", nominal, notes)


def check_resolution(obj: str, pixel_size_m: float | None, scene: Scene) -> list[str]:
    """Refuse pixels too coarse for the object; caveats for borderline ones.

    Raises:
        ResolutionTooCoarseError: the pixel size exceeds the class's limit.
    """
    spec = CLASS_SPECS[obj]
    if pixel_size_m is None or spec.max_pixel_m is None:
        return []
    if pixel_size_m > spec.max_pixel_m:
        raise ResolutionTooCoarseError(
            f"Scene {scene.id} has {pixel_size_m:.3g} m pixels, too coarse to count {spec.label}: {spec.size_text}.",
            hint=f"Use imagery with pixels of {spec.max_pixel_m:g} m or finer (Pléiades 0.5 m, aerial orthophotos "
            "0.1-0.3 m, drone imagery). Sentinel-2 (10 m) can measure water or vegetation areas (segment) instead.",
        )
    if spec.note_above_m is not None and pixel_size_m > spec.note_above_m:
        return [
            f"At {pixel_size_m:.3g} m the smaller {spec.label} are only a few pixels wide and are missed "
            f"({spec.size_text}): the count is a lower bound."
        ]
    return []
