"""The quicklook tool: a stretched true-colour PNG of a scene over an AOI, for people and VLMs."""

from __future__ import annotations

from pydantic import BaseModel, Field
from rasterio.enums import Resampling

from geovigie.core.domain import BBox, Provenance, ToolOutput, validate_bbox
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.raster import (
    display_bands,
    downsample_for_display,
    map_picture,
    read_bands,
    scene_grid,
    to_rgb,
)


class QuicklookInput(BaseModel):
    """Arguments of ``quicklook``."""

    item_id: str = Field(description="Catalog item id or image file name.")
    bbox: BBox | None = Field(default=None, description="[west, south, east, north] EPSG:4326; None = whole scene.")
    max_side: int = Field(default=1024, ge=64, le=4096, description="Longest side of the PNG in pixels.")


class QuicklookResult(BaseModel):
    """Payload of ``quicklook``."""

    item_id: str
    rendering: str
    width: int
    height: int
    artifact_id: str


@geo_tool(name="quicklook", input_model=QuicklookInput)
def quicklook(args: QuicklookInput, ctx: ToolContext) -> ToolOutput[QuicklookResult]:
    """Render a true-colour picture of a scene (or of an AOI inside it) with a robust 2-98 % stretch.

    Use it to show imagery to the user or before ``ask_image``. Falls back to colour-infrared or grey when
    the scene has no blue band. Returns the PNG artifact id; it measures nothing.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    scene = get_scene(ctx.db, args.item_id)
    bands, label = display_bands(scene)
    unique = list(dict.fromkeys(bands))
    grid = scene_grid(scene, bbox, bands=unique)
    small = grid.at_most(args.max_side) if grid.crs is not None else grid
    raster = read_bands(scene, unique, small)
    order = [unique.index(b) for b in bands]
    raster.data = raster.data[order]
    rgb = downsample_for_display(to_rgb(raster), max_side=args.max_side)
    # Warped onto Web Mercator with its exact bounds, so the map places it where its pixels are.
    picture, bounds = map_picture(rgb, grid, resampling=Resampling.bilinear)
    ref = ctx.artifacts.save_png(
        picture, title=f"{scene.id} {scene.datetime or ''} {label}".strip(), role="quicklook", bbox=bounds
    )
    return ToolOutput(
        summary=(
            f"Quicklook of {scene.id} ({scene.datetime or 'date unknown'}), {label}, {rgb.shape[1]}x{rgb.shape[0]} px."
        ),
        result=QuicklookResult(
            item_id=scene.id, rendering=label, width=rgb.shape[1], height=rgb.shape[0], artifact_id=ref.id
        ),
        provenance=Provenance(
            tool="quicklook",
            method=f"{label}, per-band 2-98 percentile stretch",
            scenes=[scene.to_ref()],
            crs=grid.crs_string,
            pixel_size_m=grid.pixel_size_m,
            aoi_bbox=bbox,
            parameters={"max_side": args.max_side},
        ),
        artifacts=[ref],
    )
