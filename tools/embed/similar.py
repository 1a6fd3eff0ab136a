"""The ``find_similar`` tool: places that look like an example, by cosine similarity of Presto embeddings."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from scipy.ndimage import binary_dilation, uniform_filter
from sqlalchemy import select

from geovigie.core.db.models import CatalogItem
from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import ToolInputError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.embed.classifier import knn_scores
from geovigie.tools.embed.common import (
    SHORT_NAMES,
    ModelName,
    embedded,
    executions,
    grid_lonlat,
    method_name,
    model_info,
    ramp,
)
from geovigie.tools.embed.regions import Place, mask_of
from geovigie.tools.embed.service import EmbeddingMap
from geovigie.tools.raster import Execution, draw_boxes, map_picture

MAX_SCENES = 5
"""Scenes one call may search: each costs an embedding of the AOI (seconds to minutes on a laptop)."""
MIN_SEPARATION_PX = 3
"""Places are at least 2 x this + 1 pixels apart (70 m at 10 m), so that one field is not returned five times."""


class FindSimilarInput(Place):
    """Arguments of ``find_similar``: the example (point, box or polygon) and where to search."""

    item_id: str = Field(description="Catalog item id of the scene the example is on.")
    search_item_ids: list[str] = Field(
        default_factory=list, max_length=5, description="Scenes to search (default: the example's scene)."
    )
    bbox: BBox | None = Field(default=None, description="Search AOI [west, south, east, north]; None = whole scene.")
    across_catalog: bool = Field(
        default=False,
        description="Also search the catalog's other scenes of the example's collection (the closest in date, "
        f"at most {MAX_SCENES - 1}), instead of only the example's scene or search_item_ids.",
    )
    top_k: int = Field(default=5, ge=1, le=50, description="How many places to return.")
    model: ModelName = Field(
        default="presto",
        description="Embedding model: presto (per 10 m pixel) or galileo_nano (per 40 m patch, with its context).",
    )


class SimilarPlace(BaseModel):
    """One place found."""

    rank: int
    item_id: str
    lon: float
    lat: float
    score: float
    """Cosine similarity of the place's mean embedding to the example's (1 = identical)."""


class FindSimilarResult(BaseModel):
    """Payload of ``find_similar``."""

    example_item_id: str
    example_pixels: int
    places: list[SimilarPlace]
    threshold: float
    """Similarity above which pixels are counted as 'like the example' (median of the top-k scores)."""
    similar_area_m2: float | None
    searched_pixels: int
    model: dict[str, Any]


def _example(args: FindSimilarInput, ctx: ToolContext) -> tuple[np.ndarray, EmbeddingMap, np.ndarray]:
    scene = get_scene(ctx.db, args.item_id)
    execution = Execution.from_context(ctx, tool="find_similar")  # large grids go to Dask (embed_kind)
    if not args.search_item_ids or args.search_item_ids == [args.item_id]:
        # Searching the example's own scene: embed the search area once and read the example from it.
        emb = embedded(scene, args.bbox, ctx.settings, None, tile_size=ctx.settings.tile_size, model=args.model,
                       execution=execution)  # fmt: skip
        try:
            region = mask_of(args, emb.grid)
            return emb.mean_of(region), emb, region
        except ToolInputError:
            pass  # the example is outside the search AOI: embed it on its own below
    pad = 0.003  # ~300 m of context around the example, so that a point still has a grid
    emb = embedded(
        scene, args.padded_bounds(pad), ctx.settings, None, tile_size=ctx.settings.tile_size, model=args.model,
        execution=execution,
    )  # fmt: skip
    region = mask_of(args, emb.grid)
    return emb.mean_of(region), emb, region


def _peaks(score: np.ndarray, allowed: np.ndarray, k: int, radius: int) -> list[tuple[int, int, float]]:
    """Top-k local maxima of a score map, at least ``2 radius + 1`` pixels apart."""
    work = np.where(allowed & np.isfinite(score), score, -np.inf)
    out = []
    for _ in range(k):
        flat = int(np.argmax(work))
        r, c = divmod(flat, work.shape[1])
        if not np.isfinite(work[r, c]):
            break
        out.append((r, c, float(work[r, c])))
        work[max(0, r - 2 * radius) : r + 2 * radius + 1, max(0, c - 2 * radius) : c + 2 * radius + 1] = -np.inf
    return out


@geo_tool(name="find_similar", input_model=FindSimilarInput)
def find_similar(args: FindSimilarInput, ctx: ToolContext) -> ToolOutput[FindSimilarResult]:
    """Find the places most similar to an example (a point, a box or a polygon on a scene) in an AOI or scenes.

    Use it for "find other sites that look like this quarry", "où trouve-t-on des serres comme celle-ci ?":
    similarity is the cosine between Presto foundation-model embeddings (per 10 m pixel, Sentinel-2/1) of the
    example and of every searched pixel, averaged over a window the size of the example. The example's own pixels
    are not returned. Needs Sentinel-2 (B02, B03, B04, B08 at least) or Sentinel-1 scenes at 5-40 m.

    Returns the top-k places (lon/lat, score), the area above a similarity threshold, and artifacts: the similarity
    map (COG), the places (GeoJSON points with scores) and a PNG of the map with the places boxed.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    example, example_emb, region = _example(args, ctx)
    size = max(1, int(round(np.sqrt(region.sum()))))
    places: list[SimilarPlace] = []
    artifacts, scenes, searched, above = [], [], 0, 0.0
    maps = []
    for item in _searched(args, ctx):
        scene = get_scene(ctx.db, item)
        emb = embedded(
            scene,
            bbox,
            ctx.settings,
            lambda f, m: ctx.progress(0.1 + 0.7 * f, m),
            tile_size=ctx.settings.tile_size,
            model=args.model,
            execution=Execution.from_context(ctx, tool="find_similar"),
        )
        h, w = emb.grid.shape
        sim = np.full((h, w), np.nan, np.float32)
        sim[emb.valid] = knn_scores(emb.vectors[emb.valid], example[None, :])
        smooth = uniform_filter(np.nan_to_num(sim, nan=-1.0), size=size, mode="nearest")
        allowed = emb.valid.copy()
        if scene.id == args.item_id:
            allowed &= ~_example_on(emb, example_emb, region, max(MIN_SEPARATION_PX, size))
        scenes.append(scene)
        maps.append((scene, emb, sim, smooth))
        searched += int(emb.valid.sum())
        for r, c, s in _peaks(smooth, allowed, args.top_k, max(MIN_SEPARATION_PX, size)):
            lon, lat = grid_lonlat(emb.grid, r + 0.5, c + 0.5)
            places.append(SimilarPlace(rank=0, item_id=scene.id, lon=lon, lat=lat, score=round(s, 4)))
    if not places:
        raise ToolInputError("No valid pixel to search.", hint="Widen the AOI or choose another scene.")
    places = sorted(places, key=lambda p: -p.score)[: args.top_k]
    places = [p.model_copy(update={"rank": i + 1}) for i, p in enumerate(places)]
    threshold = float(np.median([p.score for p in places]))
    ctx.progress(0.85, "writing the similarity map")
    for scene, emb, sim, smooth in maps:
        px_area = emb.grid.pixel_area_m2()
        above += float(((smooth >= threshold) & emb.valid).sum()) * (px_area or 0.0)
        artifacts += _artifacts(ctx, scene.id, emb, sim, [p for p in places if p.item_id == scene.id], size)
    result = FindSimilarResult(
        example_item_id=args.item_id,
        example_pixels=int(region.sum()),
        places=places,
        threshold=round(threshold, 4),
        similar_area_m2=above if emb.grid.crs is not None else None,
        searched_pixels=searched,
        model=model_info(example_emb.card),
    )
    best = places[0]
    summary = (
        f"{len(places)} places most like the example on {args.item_id} ({result.example_pixels} px); best: "
        f"{best.lon:.5f}, {best.lat:.5f} on {best.item_id} (cosine similarity {best.score:.3f}); "
        f"{above / 1e6:.3f} km² score above {threshold:.3f}. Features: {method_name(example_emb)}."
    )
    return ToolOutput(
        summary=summary,
        result=result,
        provenance=Provenance(
            tool="find_similar",
            method=f"cosine similarity of {example_emb.card.title} embeddings, box-averaged over the example's size",
            scenes=[s.to_ref() for s in scenes],
            crs=example_emb.grid.crs_string,
            pixel_size_m=example_emb.grid.pixel_size_m,
            aoi_bbox=bbox,
            parameters={
                "model": model_info(example_emb.card),
                "top_k": args.top_k,
                "window_px": size,
                "bands": example_emb.bands,
                "execution": executions(example_emb, *(m[1] for m in maps))[0],
            },
        ),
        figures=[
            Figure(name="best similarity", value=best.score, unit="cosine"),
            Figure(name="area like the example", value=round(above, 1), unit="m²"),
            Figure(name="places found", value=len(places), unit="count"),
        ],
        artifacts=artifacts,
        notes=[
            *(
                [
                    f"{SHORT_NAMES[example_emb.card.name]} could not run ({example_emb.fallback}): similarity "
                    "uses standardised raw bands."
                ]
                if example_emb.fallback
                else []
            ),
            "Similarity is spectral-temporal likeness in the model's embedding space at 10 m, not object "
            "recognition: fields, roofs or water bodies with the same signature score high even if unrelated.",
            "Single-date inputs: Presto was pre-trained on monthly series, so one date uses a part of what it learnt.",
            "The example's own pixels (and their immediate surroundings) are excluded from the places.",
            *executions(example_emb, *(m[1] for m in maps))[1],
            *(
                [
                    "Galileo nano gives one vector per 4 x 4 px patch (40 m), which also carries where the patch "
                    "sits in its 640 m tile: the map is blocky, and at equal content nearby places score higher."
                ]
                if example_emb.card.name == "galileo_nano"
                else []
            ),
        ],
    )


def _searched(args: FindSimilarInput, ctx: ToolContext) -> list[str]:
    """The scenes to search: those named, else the example's, plus its collection's nearest dates across the catalog."""
    items = list(dict.fromkeys(args.search_item_ids or [args.item_id]))
    if not args.across_catalog:
        return items
    example = get_scene(ctx.db, args.item_id)
    when = _dt.datetime.fromisoformat(example.datetime.replace("Z", "+00:00")) if example.datetime else None
    with ctx.db.session() as session:
        rows = session.execute(
            select(CatalogItem.id, CatalogItem.datetime).where(
                CatalogItem.collection == (example.collection or ""),
                CatalogItem.georeferenced.is_(True),
                CatalogItem.id.not_in(items),
            )
        ).all()

    def distance(row: Any) -> float:
        if when is None or row[1] is None:
            return float("inf")
        other = row[1] if row[1].tzinfo else row[1].replace(tzinfo=_dt.UTC)
        return abs((other - (when if when.tzinfo else when.replace(tzinfo=_dt.UTC))).total_seconds())

    others = [str(r[0]) for r in sorted(rows, key=lambda r: (distance(r), str(r[0])))]
    return (items + others)[:MAX_SCENES]


def _example_on(emb: EmbeddingMap, example_emb: EmbeddingMap, region: np.ndarray, size: int) -> np.ndarray:
    """The example's pixels on a search grid (same scene), dilated by the smoothing window."""
    rows, cols = np.nonzero(region)
    mask = np.zeros(emb.grid.shape, bool)
    for r, c in zip(rows, cols, strict=True):
        lon, lat = grid_lonlat(example_emb.grid, r + 0.5, c + 0.5)
        x, y = _to_grid(emb, lon, lat)
        if 0 <= y < mask.shape[0] and 0 <= x < mask.shape[1]:
            mask[y, x] = True
    square = np.ones((3, 3), bool)  # Chebyshev distance: the exclusion is a square, like the peaks' spacing
    return binary_dilation(mask, structure=square, iterations=size) if mask.any() else mask


def _to_grid(emb: EmbeddingMap, lon: float, lat: float) -> tuple[int, int]:
    from pyproj import Transformer

    assert emb.grid.crs is not None
    x, y = Transformer.from_crs("EPSG:4326", emb.grid.crs, always_xy=True).transform(lon, lat)
    col, row = ~emb.grid.transform * (x, y)
    return int(np.floor(col)), int(np.floor(row))


def _artifacts(
    ctx: ToolContext, item: str, emb: EmbeddingMap, sim: np.ndarray, places: list[SimilarPlace], size: int
) -> list[Any]:
    footprint = emb.grid.bbox_wgs84
    cog = ctx.artifacts.save_cog(
        sim, transform=emb.grid.transform, crs=emb.grid.crs, title=f"{item} similarity to the example",
        role="similarity", nodata=float("nan"), bbox=footprint,
    )  # fmt: skip
    finite = sim[np.isfinite(sim)]
    low, high = (float(np.percentile(finite, 2)), float(finite.max())) if finite.size else (0.0, 1.0)
    boxes = []
    for p in places:
        c, r = _to_grid(emb, p.lon, p.lat)
        half = max(2, size)
        boxes.append((c - half, r - half, c + half, r + half))
    rgb = draw_boxes(ramp(sim, emb.valid, low=low, high=high), boxes, colour=(255, 40, 40))
    picture, bounds = map_picture(rgb, emb.grid)
    png = ctx.artifacts.save_png(
        picture, title=f"{item} similarity (places boxed)", role="overlay", bbox=bounds or footprint,
        legend=[("low similarity", "#141e5a"), ("high similarity", "#ffe628"), ("place found", "#ff2828")],
    )  # fmt: skip
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {"rank": p.rank, "score": p.score, "item_id": p.item_id},
        }
        for p in places
    ]
    geojson = ctx.artifacts.save_geojson(
        {"type": "FeatureCollection", "features": features}, title=f"{item} similar places", role="places",
        bbox=footprint,
    )  # fmt: skip
    return [png, geojson, cog]
