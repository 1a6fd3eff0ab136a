"""Outputs of ``count_objects``: GeoJSON of boxes or region polygons, and the overlay picture.

GeoJSON coordinates are EPSG:4326 for georeferenced scenes. For plain images (PNG/JPEG without
georeferencing) they are **pixel coordinates** (x to the right, y downwards, origin at the top-left corner of
the image), and the collection carries ``"crs": "pixel"`` in its properties: such a file must not be put on a
map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import rasterio.features
import shapely
from PIL import Image
from pyproj import Transformer
from shapely.geometry import Polygon, box, mapping, shape
from shapely.ops import unary_union

from geovigie.tools.count.detectors import Detection
from geovigie.tools.raster import Grid, draw_boxes, overlay_mask

MAX_FEATURES = 20_000
"""Most features written to one GeoJSON (the count is never truncated)."""
BOX_COLOUR = (255, 214, 0)
REGION_COLOUR = (0, 200, 255)
PALETTE = ((0, 200, 255), (255, 80, 80), (255, 214, 0), (160, 90, 255), (0, 230, 120), (255, 140, 0))


def _to_wgs84(grid: Grid) -> Any:
    if grid.crs is None:
        return None
    return Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform


def _pixel_geometry(geom: Any, grid: Grid, to_wgs: Any) -> Any:
    """A geometry in pixel coordinates mapped to EPSG:4326 (or left in pixels when not georeferenced)."""
    if to_wgs is None:
        return geom
    t = grid.transform

    def to_lonlat(coords: np.ndarray) -> np.ndarray:
        x = t.a * coords[:, 0] + t.b * coords[:, 1] + t.c
        y = t.d * coords[:, 0] + t.e * coords[:, 1] + t.f
        lon, lat = to_wgs(x, y)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, to_lonlat)


def boxes_geojson(
    detections: Sequence[Detection], grid: Grid, *, pixel_size_m: float | None, properties: dict[str, Any]
) -> dict[str, Any]:
    """FeatureCollection of detection boxes (EPSG:4326, or pixel coordinates with ``crs: pixel``)."""
    to_wgs = _to_wgs84(grid)
    features = []
    for i, det in enumerate(detections[:MAX_FEATURES]):
        outline = Polygon(det.polygon) if det.polygon else box(det.xmin, det.ymin, det.xmax, det.ymax)
        geom = _pixel_geometry(outline, grid, to_wgs)
        props: dict[str, Any] = {"id": i, "label": det.label, "score": round(det.score, 3)}
        width, height = det.xmax - det.xmin, det.ymax - det.ymin
        if pixel_size_m is not None:
            props["width_m"], props["height_m"] = round(width * pixel_size_m, 2), round(height * pixel_size_m, 2)
        else:
            props["width_px"], props["height_px"] = round(width, 1), round(height, 1)
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return _collection(features, grid, len(detections), properties)


def regions_geojson(
    labels: np.ndarray, grid: Grid, *, pixel_size_m: float | None, properties: dict[str, Any]
) -> dict[str, Any]:
    """FeatureCollection with one (multi)polygon per labelled region, largest first."""
    to_wgs = _to_wgs84(grid)
    parts: dict[int, list[Polygon]] = {}
    identity = rasterio.Affine.identity()
    for geom, value in rasterio.features.shapes(labels.astype(np.int32), mask=labels > 0, transform=identity):
        parts.setdefault(int(value), []).append(shape(geom))
    sizes = np.bincount(labels.ravel())
    order = sorted(parts, key=lambda v: -int(sizes[v]))
    features = []
    for value in order[:MAX_FEATURES]:
        geom = _pixel_geometry(unary_union(parts[value]), grid, to_wgs)
        props: dict[str, Any] = {"id": value, "pixels": int(sizes[value])}
        if pixel_size_m is not None:
            props["area_m2"] = round(float(sizes[value]) * pixel_size_m**2, 1)
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return _collection(features, grid, len(parts), properties)


def _collection(features: list[dict[str, Any]], grid: Grid, total: int, properties: dict[str, Any]) -> dict[str, Any]:
    props = dict(properties)
    props["crs"] = "EPSG:4326" if grid.crs is not None else "pixel"
    if grid.crs is None:
        # Readers would otherwise take column/row numbers for longitudes/latitudes.
        props["note"] = "Pixel coordinates (x right, y down from the top-left corner) of a non-georeferenced image."
    props["features_total"] = total
    props["features_written"] = len(features)
    return {"type": "FeatureCollection", "features": features, "properties": props}


def thumbnail_factor(grid: Grid, max_side: int = 1024) -> int:
    """Integer decimation that brings the grid's longest side to at most ``max_side``."""
    return max(1, -(-max(grid.width, grid.height) // max_side))


def boxes_overlay(thumb: np.ndarray, factor: int, detections: Sequence[Detection]) -> np.ndarray:
    """Boxes (scaled to the thumbnail) drawn on it (the legend travels with the artifact, not in the pixels)."""
    boxes = [(d.xmin / factor, d.ymin / factor, d.xmax / factor, d.ymax / factor) for d in detections]
    width = 2 if max(thumb.shape[:2]) >= 512 else 1
    drawn = draw_boxes(np.ascontiguousarray(thumb), boxes, colour=BOX_COLOUR, width=width)
    return drawn


def regions_overlay(thumb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Regions blended in cycling colours (neighbours tell apart), resized to the thumbnail."""
    if labels.shape != thumb.shape[:2]:
        img = Image.fromarray(labels.astype(np.int32)).resize(
            (thumb.shape[1], thumb.shape[0]), Image.Resampling.NEAREST
        )
        labels = np.asarray(img)
    out = thumb.copy()
    for k, colour in enumerate(PALETTE):
        sel = (labels > 0) & (labels % len(PALETTE) == k)
        out = overlay_mask(out, sel, colour=colour, alpha=0.5)
    return out
