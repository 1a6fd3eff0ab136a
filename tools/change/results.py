"""The typed results of detect_change: areas per change direction, per interval, and the whole answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from geovigie.tools.change.artifacts import ChangeArtifacts


class DirectionArea(BaseModel):
    """Change in one direction (e.g. water gain / water loss)."""

    direction: str
    pixels: int
    area_m2: float | None
    counted: bool
    """True when included in the changed area."""


class IntervalChange(BaseModel):
    """Change over one interval of a series."""

    before_item_id: str
    after_item_id: str
    before_date: str | None
    after_date: str | None
    days_between: int | None
    changed_pixels: int
    changed_area_m2: float | None
    changed_pct: float
    first_change_pixels: int
    """Pixels whose first change falls in this interval."""
    threshold: float | None


class DetectChangeResult(BaseModel):
    """Payload of ``detect_change``."""

    preset: str
    method: str
    threshold_method: str
    threshold: float | None
    """Threshold on the change magnitude (index units for index_difference, σ units for CVA)."""
    before_item_id: str
    after_item_id: str
    before_date: str | None
    after_date: str | None
    days_between: int | None
    changed_pixels: int
    changed_area_m2: float | None
    changed_pct_of_valid: float
    valid_pixels: int
    valid_area_m2: float | None
    cloud_excluded_pct: float
    polygon_count: int
    directions: list[DirectionArea]
    pixel_size_m: float | None
    area_unit: Literal["m2", "px"]
    intervals: list[IntervalChange] = Field(default_factory=list)
    artifacts: ChangeArtifacts
