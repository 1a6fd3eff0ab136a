"""Masks to GeoJSON polygons (EPSG:4326) with areas computed in a metric CRS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import rasterio.features
import shapely
from pyproj import CRS as ProjCRS
from pyproj import Transformer
from shapely.geometry import mapping, shape

from geovigie.tools.raster.grid import Grid


def _metric_crs(grid: Grid) -> ProjCRS:
    """UTM zone of the grid centre (areas in m² are then accurate to well under 1 %)."""
    bbox = grid.bbox_wgs84
    assert bbox is not None
    lon = (bbox[0] + bbox[2]) / 2
    lat = (bbox[1] + bbox[3]) / 2
    zone = int((lon + 180) // 6) + 1
    return ProjCRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _reprojector(transformer: Transformer) -> Callable[[np.ndarray], np.ndarray]:
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return apply


def mask_to_features(
    mask: np.ndarray,
    grid: Grid,
    *,
    min_pixels: int = 1,
    max_features: int = 5000,
    properties: dict[str, Any] | None = None,
    simplify_px: float = 0.0,
) -> tuple[list[dict[str, Any]], int]:
    """Polygonise a boolean mask.

    Args:
        mask: Boolean (H, W) mask on ``grid``.
        grid: Its grid. Non-georeferenced grids give polygons in pixel coordinates and areas in px.
        min_pixels: Drop polygons smaller than this many pixels (speckle).
        max_features: Keep the largest polygons only, beyond this many (the count is still reported).
        properties: Extra properties for every feature.
        simplify_px: Douglas-Peucker tolerance in pixels (0 = exact pixel outlines).

    Returns:
        (features sorted by decreasing area, total number of polygons before truncation). Coordinates are
        EPSG:4326 when georeferenced; each feature has ``area_m2`` (or ``area_px``) and ``pixels``.
    """
    shapes = rasterio.features.shapes(mask.astype(np.uint8), mask=mask, transform=grid.transform)
    pixel_area = abs(grid.transform.a * grid.transform.e)
    # Areas, sorting, simplification and reprojection run on geometry arrays (one pyproj call for all the
    # vertices), not polygon by polygon: a 20 000 px scene can give tens of thousands of polygons.
    geoms = np.array([shape(geom) for geom, _value in shapes], dtype=object)
    pixels = np.rint(shapely.area(geoms) / pixel_area).astype(np.int64) if geoms.size else np.zeros(0, np.int64)
    kept = np.flatnonzero(pixels >= min_pixels)
    total = int(kept.size)
    # Stable: equal areas keep the tracing order.
    order = kept[np.argsort(-pixels[kept], kind="stable")][:max_features]
    polys, counts = geoms[order], pixels[order]
    tol = simplify_px * abs(grid.transform.a)
    outlines = shapely.simplify(polys, tol) if tol > 0 else polys
    georef = grid.crs is not None
    if georef:
        to_metric = _reprojector(Transformer.from_crs(grid.crs, _metric_crs(grid), always_xy=True))
        to_wgs = _reprojector(Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True))
        areas = shapely.area(shapely.transform(polys, to_metric)) if polys.size else np.zeros(0)
        outlines = shapely.transform(outlines, to_wgs) if polys.size else outlines
    features = []
    for i, (geom, count) in enumerate(zip(outlines, counts.tolist(), strict=True)):
        props: dict[str, Any] = dict(properties or {})
        props["pixels"] = count
        if georef:
            props["area_m2"] = round(float(areas[i]), 1)
        else:
            props["area_px"] = count
        features.append({"type": "Feature", "geometry": mapping(geom), "properties": props})
    return features, total


def feature_collection(features: list[dict[str, Any]], **properties: Any) -> dict[str, Any]:
    """Wrap features as a GeoJSON FeatureCollection with top-level properties (provenance)."""
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def mask_area_m2(mask: np.ndarray, grid: Grid) -> float | None:
    """Area of a mask in m² (pixel count × pixel area at the grid centre), None when not georeferenced."""
    pixel_area = grid.pixel_area_m2()
    if pixel_area is None:
        return None
    return float(mask.sum()) * pixel_area
