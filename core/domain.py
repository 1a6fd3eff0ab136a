"""Domain types shared by tools, agent, serving and UI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator, model_validator

from geovigie.core.errors import ToolInputError

BBox = tuple[float, float, float, float]
"""(west, south, east, north) in EPSG:4326 degrees."""


def validate_bbox(bbox: BBox) -> BBox:
    """Check that a WGS84 bbox is well formed.

    Args:
        bbox: (west, south, east, north) in degrees.

    Returns:
        The same bbox as floats.

    Raises:
        ToolInputError: if the coordinates are out of range or inverted.
    """
    w, s, e, n = (float(v) for v in bbox)
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise ToolInputError(
            f"Bounding box {bbox} is outside longitude [-180, 180] / latitude [-90, 90].",
            hint="Give the bbox as [west, south, east, north] in degrees (EPSG:4326).",
        )
    if w >= e or s >= n:
        raise ToolInputError(
            f"Bounding box {bbox} is inverted or empty (west must be < east and south < north).",
            hint="Give the bbox as [west, south, east, north] in degrees (EPSG:4326).",
        )
    return (w, s, e, n)


class SceneRef(BaseModel):
    """One scene used to compute a figure."""

    item_id: str
    collection: str | None = None
    datetime: str | None = None
    """Acquisition date-time (ISO 8601) or None when unknown."""
    platform: str | None = None
    gsd_m: float | None = None
    cloud_cover: float | None = None
    href: str | None = None
    """The STAC item's ``self`` link for remote items, else the first band file."""
    assets_read: list[str] = Field(default_factory=list)
    """Asset hrefs of a remote item read in this process (without signing tokens)."""
    radiometry: list[str] = Field(default_factory=list)
    """Scale/offset applied to a remote item's stored values, and where they came from."""
    masks: list[str] = Field(default_factory=list)
    """Class-map assets used for cloud/shadow screening (``scl``, ``qa_pixel``)."""
    mosaic_shares: dict[str, float] = Field(default_factory=dict)
    """For a mosaic: share of the pixels read that each part item supplied (the per-pixel source, summed)."""


class Provenance(BaseModel):
    """Where a figure comes from. Mandatory on every tool result."""

    tool: str
    method: str
    scenes: list[SceneRef] = Field(default_factory=list)
    crs: str | None = None
    pixel_size_m: float | None = None
    """Ground pixel size in metres, or None when the image is not georeferenced and no size was given."""
    aoi_bbox: BBox | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)
    """Catalog or service the data came from (local catalog, STAC API URL, gazetteer...)."""
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def item_ids(self) -> list[str]:
        """Ids of the scenes used."""
        return [s.item_id for s in self.scenes]

    def is_complete(self) -> bool:
        """True when every scene has an id and a date and the method is named."""
        return bool(self.method) and all(s.item_id and s.datetime for s in self.scenes)


ArtifactKind = Literal["png", "geojson", "cog", "json", "markdown", "html"]


class ArtifactRef(BaseModel):
    """A file produced by a tool, stored content-addressed in the artifacts folder."""

    id: str
    """Content hash plus extension (e.g. ``3fa2…9c.png``); the file name in the artifacts folder."""
    kind: ArtifactKind
    media_type: str
    title: str
    path: str
    """Absolute path on the server's disk."""
    role: str = "evidence"
    """What it shows: quicklook, overlay, before, after, mask, polygons, boxes..."""
    bbox: BBox | None = None
    """WGS84 footprint, when georeferenced (used to place images on the map). For a PNG warped onto Web
    Mercator (``tools/raster/webmap.py``) these are the exact bounds of its pixel edges."""
    legend: list[tuple[str, str]] = Field(default_factory=list)
    """Colour key of a picture as (label, ``#rrggbb``): drawn by the map and the chat, never baked into pixels."""


class Figure(BaseModel):
    """One measured number, with its unit and optional uncertainty."""

    name: str
    value: float
    unit: str
    uncertainty: str | None = None


T = TypeVar("T", bound=BaseModel)


class ToolOutput(BaseModel, Generic[T]):
    """What every tool returns: a short summary for the planner, a typed payload for the app."""

    summary: str
    """One to three sentences for the planner; cites item ids and key numbers."""
    result: T
    provenance: Provenance
    figures: list[Figure] = Field(default_factory=list)
    artifacts: list[ArtifactRef] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    """Degradations and caveats that the model and the user must see."""

    @field_validator("summary")
    @classmethod
    def _summary_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("summary must not be empty")
        return value

    @model_validator(mode="after")
    def _figures_need_provenance(self) -> ToolOutput[T]:
        if self.figures and not self.provenance.method:
            raise ValueError("figures require a method in provenance")
        return self

    def for_model(self) -> str:
        """Compact text shown to the planner (never raw arrays)."""
        parts = [self.summary]
        if self.notes:
            parts.append("Notes: " + " ".join(self.notes))
        if self.artifacts:
            parts.append("Artifacts: " + ", ".join(f"{a.role}={a.id}" for a in self.artifacts))
        return "\n".join(parts)
