"""UI fixtures: a real agent graph and turn service driven by a scripted planner and small stand-in tools.

The planner is scripted like tests/serving/test_api.py: a flood question calls ``quicklook`` and a stand-in
``water_extent`` tool (blue > red: PNG overlay, GeoJSON polygons, COG mask, area) on a synthetic georeferenced
scene with a flooded river; a ship-counting question calls ``quicklook`` and a stand-in ``count_objects`` tool
(bright blobs) on a synthetic, non-georeferenced harbour image with three ships; a tree-counting question runs
the same counter on a georeferenced orchard (boxes as GeoJSON and drawn on the overlay); a change question
runs a stand-in ``detect_change`` (before/after pictures, gain overlay, polygons). "show me the polygons"
answers from the previous results without any tool. Pictures go through the real ``map_picture``.
"""

from __future__ import annotations

import time
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
from geovigie.tools.raster import hex_legend, map_picture
from geovigie.tools.raster.read import read_bands, scene_grid
from geovigie.tools.vision.quicklook import quicklook

FLOOD_ITEM = "orihuela-s1-2019-09-18"
COUNT_ITEM = "P0706"
TREES_ITEM = "orchard-2020-06-01"
TREES_TEXT = "I count {n} trees in the orchard."
CHANGE_TEXT = "New water near Orihuela between 2019-08-01 and 2019-09-18: {area:.3f} km²."
POLYGONS_TEXT = "The water polygons are the outlined shapes on the map."
TURN_DELAY_S = 2.0
"""The flood stand-in takes this long, so that a person (the browser test) can type during a turn."""
BOX_RGB = (255, 214, 0)
GAIN_RGB = (0, 114, 178)
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
    time.sleep(TURN_DELAY_S)
    mask = raster.band("blue") > raster.band("red")
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    rgba[mask] = (30, 90, 255, 170)
    picture, bounds = map_picture(rgba, grid)
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
            ctx.artifacts.save_png(
                picture,
                title=f"{title} water overlay",
                role="overlay",
                bbox=bounds,
                legend=hex_legend([("water", (30, 90, 255))]),
            ),
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


def _box_feature(grid, left: int, top: int, right: int, bottom: int) -> dict[str, Any]:
    # The box's outer pixel edges, in the scene CRS, then EPSG:4326 (as the real counter writes them).
    x0, y0 = grid.transform * (left, top)
    x1, y1 = grid.transform * (right, bottom)
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    geom = transform_geom(grid.crs, "EPSG:4326", {"type": "Polygon", "coordinates": [ring]})
    return {"type": "Feature", "properties": {"class": "object"}, "geometry": geom}


@geo_tool(name="count_objects", input_model=ItemInput)
def count_objects(args: ItemInput, ctx: ToolContext) -> ToolOutput[CountResult]:
    """Stand-in counter: bright blobs on a dark background, boxed (GeoJSON boxes when georeferenced)."""
    scene = get_scene(ctx.db, args.item_id)
    grid = scene_grid(scene, None)
    raster = read_bands(scene, ["red", "green", "blue"], grid)
    rgb = np.stack([raster.band(b) for b in ("red", "green", "blue")], axis=-1).astype(np.uint8)
    labels, count = ndimage.label(rgb.mean(axis=-1) > 180)
    boxed, boxes = rgb.copy(), []
    for rows, cols in ndimage.find_objects(labels):
        top, bottom, left, right = rows.start - 2, rows.stop + 1, cols.start - 2, cols.stop + 1
        boxed[top, left : right + 1] = boxed[bottom, left : right + 1] = BOX_RGB
        boxed[top : bottom + 1, left] = boxed[top : bottom + 1, right] = BOX_RGB
        boxes.append((left, top, right + 1, bottom + 1))
    what = "trees" if grid.crs is not None else "ships"
    legend = hex_legend([(f"{count} {what}", BOX_RGB)])
    picture, bounds = map_picture(boxed, grid)
    artifacts = [ctx.artifacts.save_png(picture, title=f"{scene.id} {what} boxes", role="boxes", bbox=bounds,
                                        legend=legend)]  # fmt: skip
    if grid.crs is not None:
        collection = {"type": "FeatureCollection", "features": [_box_feature(grid, *b) for b in boxes]}
        artifacts.append(ctx.artifacts.save_geojson(collection, title=f"{scene.id} {what}", role="boxes"))
    return ToolOutput(
        summary=f"{count} {what} found in {scene.id}.",
        result=CountResult(count=count),
        provenance=Provenance(tool="count_objects", method="stand-in bright-blob detector", scenes=[scene.to_ref()]),
        figures=[Figure(name=what, value=count, unit="count")],
        artifacts=artifacts,
    )


@geo_tool(name="detect_change", input_model=ItemInput)
def detect_change(args: ItemInput, ctx: ToolContext) -> ToolOutput[WaterResult]:
    """Stand-in change detector: the river is new water (before: the same fields, dry)."""
    scene = get_scene(ctx.db, args.item_id)
    grid = scene_grid(scene, None)
    raster = read_bands(scene, ["red", "green", "blue"], grid)
    after = np.stack([raster.band(b) for b in ("red", "green", "blue")], axis=-1)
    after = np.clip(after / 16, 0, 255).astype(np.uint8)
    gain = raster.band("blue") > raster.band("red")
    before = after.copy()
    before[gain] = (120, 100, 60)
    overlay = np.zeros((*gain.shape, 4), dtype=np.uint8)
    overlay[gain] = (*GAIN_RGB, 255)
    area = float(gain.sum()) * (grid.pixel_size_m or 10.0) ** 2 / 1e6
    features = [{"type": "Feature", "properties": {"direction": "new water"}, "geometry": g}
                for g in _wgs84_polygons(gain, grid)]  # fmt: skip
    refs = []
    for picture, title, role in ((before, "Before 2019-08-01", "before"), (after, "After 2019-09-18", "after"),
                                 (overlay, "Change 2019-08-01 to 2019-09-18", "overlay")):  # fmt: skip
        pic, bounds = map_picture(picture, grid)
        legend = hex_legend([("new water", GAIN_RGB)]) if role == "overlay" else None
        refs.append(ctx.artifacts.save_png(pic, title=title, role=role, bbox=bounds, legend=legend))
    collection = {"type": "FeatureCollection", "features": features}
    refs.append(
        ctx.artifacts.save_geojson(collection, title="Change polygons 2019-08-01 to 2019-09-18", role="polygons")
    )
    return ToolOutput(
        summary=f"New water covers {area:.3f} km² ({scene.id}).",
        result=WaterResult(area_km2=area),
        provenance=Provenance(
            tool="detect_change", method="stand-in", scenes=[scene.to_ref()], aoi_bbox=grid.bbox_wgs84
        ),
        figures=[Figure(name="new water", value=round(area, 4), unit="km²")],
        artifacts=refs,
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


def _kind(question: str) -> str:
    if "tree" in question or "arbre" in question:
        return "trees"
    if "ship" in question or "count" in question:
        return "ships"
    return "change" if "change" in question else "flood"


def scripted_planner():
    """Flood -> quicklook + water_extent; ships/trees -> quicklook + count_objects; change -> quicklook +
    detect_change; "show me the polygons" -> an answer from the earlier results, without tools."""
    items = {"trees": TREES_ITEM, "ships": COUNT_ITEM}
    tools = {"trees": "count_objects", "ships": "count_objects", "change": "detect_change", "flood": "water_extent"}

    def plan(messages):
        question = _question(messages).lower()
        if "polygons" in question:
            return AIMessage(content=POLYGONS_TEXT)
        kind = _kind(question)
        item = items.get(kind, FLOOD_ITEM)
        if messages[-1].type == "human":
            calls = [
                {"name": "quicklook", "args": {"item_id": item}, "id": "c1", "type": "tool_call"},
                {"name": tools[kind], "args": {"item_id": item}, "id": "c2", "type": "tool_call"},
            ]
            # detect_change renders its own before/after pictures (as the real one does): no quicklook.
            return AIMessage(content="", tool_calls=calls[1:] if kind == "change" else calls)
        last = str([m for m in messages if m.type == "tool"][-1].content)
        if kind in ("ships", "trees"):
            n = last.split(f" {kind}")[0]
            return AIMessage(content=COUNT_TEXT.format(n=n) if kind == "ships" else TREES_TEXT.format(n=n))
        if kind == "change":
            return AIMessage(
                content=CHANGE_TEXT.format(area=float(last.split("New water covers ")[1].split(" km²")[0]))
            )
        area = float(last.split("Water covers ")[1].split(" km²")[0])
        return AIMessage(content=FLOOD_TEXT.format(area=area))

    return RunnableLambda(plan)


def _service(settings, ctx) -> TurnService:
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        tools={
            "quicklook": quicklook,
            "water_extent": water_extent,
            "count_objects": count_objects,
            "detect_change": detect_change,
        },
        model=scripted_planner(),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)


@pytest.fixture
def empty_ui_service(settings, ctx) -> TurnService:
    """The same service on an empty catalog: a bare clone's first run."""
    return _service(settings, ctx)


@pytest.fixture
def ui_service(settings, ctx, make_geotiff, register) -> TurnService:
    """A turn service on the real graph with the scripted planner and a three-scene catalog."""
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
    register(
        ctx,
        make_geotiff(
            harbour_scene(), name="orchard.tif", transform=Affine(0.5, 0, 500_000, 0, -0.5, 4_800_000), crs="EPSG:32631"
        ),
        item_id=TREES_ITEM,
        bands=[("red", "red"), ("green", "green"), ("blue", "blue")],
        datetime="2020-06-01T10:00:00Z",
        gsd=0.5,
        bbox=[3.0, 43.35, 3.001, 43.36],
    )
    return _service(settings, ctx)
