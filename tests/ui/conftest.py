"""UI fixtures: a real agent graph and turn service driven by a scripted planner and two small stand-in tools.

The planner is scripted like tests/serving/test_api.py: a flood question calls ``quicklook`` and a stand-in
``water_extent`` tool (blue > red: PNG overlay, GeoJSON polygons, COG mask, area) on a synthetic georeferenced
scene with a flooded river; a counting question calls ``quicklook`` and a stand-in ``count_objects`` tool (bright
blobs) on a synthetic, non-georeferenced harbour image with three ships.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import rasterio.features
from affine import Affine
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, Field
from rasterio.warp import transform_geom
from scipy import ndimage

from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.core.domain import Figure, Provenance, ToolOutput
from geovigie.serving.api.service import TurnService
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.read import read_bands, scene_grid
from geovigie.tools.vision.quicklook import quicklook

FLOOD_ITEM = "orihuela-s1-2019-09-18"
COUNT_ITEM = "P0706"
FLOOD_TEXT = "Flooded area near Orihuela on 2019-09-18: {area:.3f} km²."
COUNT_TEXT = "I count {n} ships in P0706.png."


class ItemInput(BaseModel):
    item_id: str = Field(description="Catalog item id.")


class WaterResult(BaseModel):
    area_km2: float


class CountResult(BaseModel):
    count: int


def _wgs84_polygons(mask: np.ndarray, grid) -> list[dict[str, Any]]:
    # Vectorise in the scene CRS, then reproject: GeoJSON artifacts are EPSG:4326.
    shapes = rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=grid.transform)
    return [transform_geom(grid.crs, "EPSG:4326", geom) for geom, _ in shapes]


@geo_tool(name="water_extent", input_model=ItemInput)
def water_extent(args: ItemInput, ctx: ToolContext) -> ToolOutput[WaterResult]:
    """Stand-in flood mapper: water is where blue exceeds red (overlay, polygons, COG mask, area)."""
    scene = get_scene(ctx.db, args.item_id)
    grid = scene_grid(scene, None)
    assert grid.bbox_wgs84 is not None
    bbox = grid.bbox_wgs84
    raster = read_bands(scene, ["red", "blue"], grid)
    ctx.progress(0.5, "thresholding blue > red")
    mask = raster.band("blue") > raster.band("red")
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (30, 90, 255, 170)
    area = float(mask.sum()) * (grid.pixel_size_m or 10.0) ** 2 / 1e6
    features = [
        {"type": "Feature", "properties": {"class": "water"}, "geometry": geom} for geom in _wgs84_polygons(mask, grid)
    ]
    title = f"{scene.id} {str(scene.datetime)[:10]}"
    return ToolOutput(
        summary=f"Water covers {area:.3f} km² in {scene.id} ({scene.datetime}).",
        result=WaterResult(area_km2=area),
        provenance=Provenance(
            tool="water_extent",
            method="stand-in threshold blue > red",
            scenes=[scene.to_ref()],
            crs=grid.crs_string,
            pixel_size_m=grid.pixel_size_m,
            aoi_bbox=bbox,
        ),
        figures=[Figure(name="flooded area", value=round(area, 4), unit="km²")],
        artifacts=[
            ctx.artifacts.save_png(rgba, title=f"{title} water overlay", role="overlay", bbox=bbox),
            ctx.artifacts.save_geojson(
                {"type": "FeatureCollection", "features": features},
                title=f"{title} water polygons",
                role="polygons",
                bbox=bbox,
            ),
            ctx.artifacts.save_cog(
                mask, transform=grid.transform, crs=grid.crs, title=f"{title} water mask", role="mask", bbox=bbox
            ),
        ],
        notes=["Stand-in tool used by the UI tests."],
    )


@geo_tool(name="count_objects", input_model=ItemInput)
def count_objects(args: ItemInput, ctx: ToolContext) -> ToolOutput[CountResult]:
    """Stand-in counter: bright blobs on dark water are ships; draws their boxes (image not georeferenced)."""
    scene = get_scene(ctx.db, args.item_id)
    raster = read_bands(scene, ["red", "green", "blue"], scene_grid(scene, None))
    rgb = np.stack([raster.band(b) for b in ("red", "green", "blue")], axis=-1).astype(np.uint8)
    labels, count = ndimage.label(rgb.mean(axis=-1) > 180)
    boxed = rgb.copy()
    for rows, cols in ndimage.find_objects(labels):
        top, bottom, left, right = rows.start - 2, rows.stop + 1, cols.start - 2, cols.stop + 1
        boxed[top, left:right] = boxed[bottom, left:right] = (255, 210, 0)
        boxed[top:bottom, left] = boxed[top:bottom, right] = (255, 210, 0)
    return ToolOutput(
        summary=f"{count} ships found in {scene.id}.",
        result=CountResult(count=count),
        provenance=Provenance(tool="count_objects", method="stand-in bright-blob detector", scenes=[scene.to_ref()]),
        figures=[Figure(name="ships", value=count, unit="count")],
        artifacts=[ctx.artifacts.save_png(boxed, title=f"{scene.id} ship boxes", role="boxes")],
    )


def flood_scene(size: int = 160) -> np.ndarray:
    """Fields (green/brown, smooth texture) crossed by a meandering flooded river (blue > red)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:size, 0:size] / size
    texture = ndimage.gaussian_filter(rng.normal(size=(size, size)), 4)
    fields = (np.floor(xx * 5) + np.floor(yy * 4)) % 3
    red = 900 + 250 * fields + 400 * texture
    green = 1100 + 120 * fields + 300 * texture
    blue = 600 + 60 * fields + 200 * texture
    river = np.abs(yy - 0.5 - 0.15 * np.sin(xx * 7)) < 0.07 + 0.05 * xx
    red[river], green[river], blue[river] = 500, 800, 1500
    return np.clip(np.stack([red, green, blue]), 1, 4000).astype(np.uint16)


def harbour_scene(size: int = 120) -> np.ndarray:
    """Dark water with three bright ships."""
    rgb = np.full((3, size, size), 35, dtype=np.uint8)
    rgb[2] = 70
    for top, left in [(20, 20), (60, 70), (90, 30)]:
        rgb[:, top : top + 6, left : left + 18] = 230
    return rgb


def _question(messages) -> str:
    return next(str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage))


def scripted_planner():
    """Flood questions -> quicklook + water_extent; counting questions -> quicklook + count_objects."""

    def plan(messages):
        question = _question(messages).lower()
        counting = "ship" in question or "count" in question
        item = COUNT_ITEM if counting else FLOOD_ITEM
        if messages[-1].type == "human":
            second = "count_objects" if counting else "water_extent"
            calls = [
                {"name": "quicklook", "args": {"item_id": item}, "id": "c1", "type": "tool_call"},
                {"name": second, "args": {"item_id": item}, "id": "c2", "type": "tool_call"},
            ]
            return AIMessage(content="", tool_calls=calls)
        results = [m for m in messages if m.type == "tool"]
        if counting:
            return AIMessage(content=COUNT_TEXT.format(n=results[-1].content.split(" ships")[0]))
        area = float(results[-1].content.split("Water covers ")[1].split(" km²")[0])
        return AIMessage(content=FLOOD_TEXT.format(area=area))

    return RunnableLambda(plan)


@pytest.fixture
def ui_service(settings, ctx, make_geotiff, register) -> TurnService:
    """A turn service on the real graph with the scripted planner and a two-scene catalog."""
    register(
        ctx,
        make_geotiff(
            flood_scene(), name="orihuela.tif", transform=Affine(10, 0, 680_000, 0, -10, 4_220_000), crs="EPSG:32630"
        ),
        item_id=FLOOD_ITEM,
        bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")],
        datetime="2019-09-18T06:00:00Z",
        bbox=[-0.95, 38.06, -0.93, 38.08],
    )
    register(
        ctx,
        make_geotiff(harbour_scene(), name="P0706.tif", crs=None),
        item_id=COUNT_ITEM,
        bands=[("red", "red"), ("green", "green"), ("blue", "blue")],
        datetime=None,
        georeferenced=False,
        gsd=None,
    )
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        tools={"quicklook": quicklook, "water_extent": water_extent, "count_objects": count_objects},
        model=scripted_planner(),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)
