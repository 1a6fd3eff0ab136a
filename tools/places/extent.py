"""Extents and distances on the sphere: a square box around a point, the padded extent of points, great-circle km."""

from __future__ import annotations

import math

from geovigie.core.domain import BBox


def bbox_around(lat: float, lon: float, radius_km: float) -> BBox:
    """Square bbox of half-side ``radius_km`` around a point, clipped to valid WGS84 ranges."""
    dlat = radius_km / 111.32
    dlon = radius_km / (111.32 * max(math.cos(math.radians(lat)), 0.05))
    return (
        round(max(-180.0, lon - dlon), 5),
        round(max(-90.0, lat - dlat), 5),
        round(min(180.0, lon + dlon), 5),
        round(min(90.0, lat + dlat), 5),
    )


def extent_of(points: list[tuple[float, float]], fallback_km: float) -> BBox:
    """Padded extent of (lat, lon) points; a square of ``fallback_km`` when there is only one."""
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    if len(points) < 2:
        return bbox_around(lats[0], lons[0], fallback_km)
    pad_lat = 0.05 * (max(lats) - min(lats)) + 0.1
    pad_lon = 0.05 * (max(lons) - min(lons)) + 0.1
    return (
        round(max(-180.0, min(lons) - pad_lon), 4),
        round(max(-90.0, min(lats) - pad_lat), 4),
        round(min(180.0, max(lons) + pad_lon), 4),
        round(min(90.0, max(lats) + pad_lat), 4),
    )


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))
