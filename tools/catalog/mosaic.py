"""Mosaics of one acquisition: the items of one date and orbit that together cover an AOI no single one covers.

An AOI across an MGRS tile edge (or a large city) is seen by two or more items of the same pass. When each
covers only part of the AOI and their union covers more, a mosaic item is offered beside them: its footprint
is the union, its ``geovigie:parts`` are the part items (best coverage first), and reading it fills each pixel
from the first part that has data there (:mod:`geovigie.tools.raster.mosaic`). Its coverage in the search
result is the share of the AOI covered; the rest of the AOI is answered as no data.
"""

from __future__ import annotations

import hashlib
from typing import Any

from shapely.geometry import mapping
from shapely.ops import unary_union

from geovigie.core.domain import BBox
from geovigie.tools.catalog.hosts import namespaced_id
from geovigie.tools.catalog.rank import Aoi, footprint
from geovigie.tools.raster import Scene

FULL = 0.999


def _pass_key(item: dict[str, Any]) -> tuple[str, ...]:
    props = item.get("properties") or {}
    orbit = props.get("sat:relative_orbit") or props.get("s2:datatake_id") or props.get("landsat:wrs_path") or ""
    platform = str(props.get("platform") or props.get("constellation") or "")
    return (str(item.get("collection")), str(props.get("datetime", ""))[:10], platform.lower(), str(orbit))


def mosaic_items(items: list[dict[str, Any]], bbox: BBox | None, api_url: str) -> list[dict[str, Any]]:
    """Mosaic items for the passes whose items each cover the AOI partly (none when nothing gains)."""
    if bbox is None:
        return []
    aoi = Aoi(bbox)
    groups: dict[tuple[str, ...], list[tuple[float, dict[str, Any], Any]]] = {}
    for item in items:
        shape = footprint(Scene(item))
        if shape is None:
            continue
        share = aoi.coverage(shape)
        if 0 < share < FULL:
            groups.setdefault(_pass_key(item), []).append((share, item, shape))
    out = []
    for key, parts in groups.items():
        if len(parts) < 2 or not key[1]:
            continue
        parts.sort(key=lambda p: -p[0])
        union = unary_union([p[2] for p in parts])
        if aoi.coverage(union) <= parts[0][0] + 0.01:
            continue
        out.append(_mosaic(key, [p[1] for p in parts], union, api_url))
    return out


def _mosaic(key: tuple[str, ...], parts: list[dict[str, Any]], union: Any, api_url: str) -> dict[str, Any]:
    first = parts[0]
    ids = [str(p["id"]) for p in parts]
    digest = hashlib.sha256("|".join(ids).encode()).hexdigest()[:10]
    props = {k: v for k, v in first["properties"].items() if k != "geovigie:self_link"}
    covers = [p["properties"].get("eo:cloud_cover") for p in parts]
    known = [float(c) for c in covers if c is not None]
    props.update(
        {
            "geovigie:parts": parts,
            "geovigie:mosaic_of": [p["properties"].get("geovigie:self_link") or p["id"] for p in parts],
            "geovigie:notes": [f"mosaic of {len(parts)} items of {key[1]} (same pass): {', '.join(ids)}"],
        }
    )
    if known:
        props["eo:cloud_cover"] = max(known)
    return {
        "type": "Feature",
        "stac_version": first.get("stac_version", "1.0.0"),
        "id": namespaced_id(api_url, key[0], f"mosaic-{key[1]}-{digest}"),
        "collection": key[0],
        "geometry": mapping(union),
        "bbox": list(union.bounds),
        "properties": props,
        "assets": first.get("assets", {}),
        "links": [],
    }
