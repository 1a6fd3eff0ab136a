"""The typed result of segment: per-class areas and the answer's payload."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from geovigie.tools.segment.masks import Target


class ClassArea(BaseModel):
    """One class of the map."""

    code: int
    name: str
    pixels: int
    fraction: float
    """Share of the clear valid pixels (for the cloud class: of all valid pixels)."""
    area_m2: float | None
    polygons: int


class SegmentResult(BaseModel):
    """Payload of ``segment``."""

    item_id: str
    datetime: str | None
    target: Target
    method: str
    approximate: bool
    fraction: float | None
    """Target share of the clear (valid, not cloud) pixels; None for landcover (see classes)."""
    area_m2: float | None
    """Target area (pixel count x pixel area); None when the image is not georeferenced."""
    area_px: int
    polygon_count: int
    polygons_area_m2: float | None
    classes: list[ClassArea] = Field(default_factory=list)
    index: str | None
    index_stats: dict[str, float | None] = Field(default_factory=dict)
    cloud_fraction: float | None
    """Cloud share of the valid pixels of the AOI; None when cloud screening was impossible."""
    cloud_method: str | None
    valid_pixels: int
    clear_pixels: int
    thresholds: dict[str, Any] = Field(default_factory=dict)
    tiles: int
    coverage: float = 1.0
    """Share of the AOI's tiles in the result (below 1 when tiles failed or the run was cancelled)."""
    run_id: str | None = None
    """Id of the persisted Dask run (cancel or resume it), None for in-process runs."""
