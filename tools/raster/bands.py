"""Bands of a STAC item's assets as real catalogs publish them (Earth Search v1, Planetary Computer, local ingest).

Which assets hold reflectance, under which canonical name, at which pixel size:

* **names.** Sentinel-2 ids (``B8A``) map through :data:`SENTINEL2_BANDS` before any ``common_name``, because
  Planetary Computer labels B05, B06, B07 *and* B8A ``common_name: rededge``; Earth Search names its bands
  ``rededge2``, ``nir08``... directly. Landsat asset keys (``nir08``, ``swir16``) are kept as they are.
* **skipped.** Assets that are not data (thumbnails, metadata), non-http(s) mirrors (Earth Search's
  ``s3://...jp2`` duplicates, unreadable without AWS credentials), 8-bit ``visual`` true-colour composites, and
  atmospheric by-products (AOT, WVP) that no tool should read as reflectance.
* **class maps.** SCL (Sentinel-2 scene classification) and QA_PIXEL (Landsat bit flags) are kept under their
  own names, flagged ``is_class`` so that they are read with nearest-neighbour resampling and never as
  reflectance.
* **pixel size.** ``raster:bands[].spatial_resolution``, else the asset's ``gsd``, else ``eo:bands[].gsd``,
  else the ``proj:transform`` pixel, else the item's ``gsd``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SENTINEL2_BANDS: dict[str, tuple[str, float]] = {
    "B01": ("coastal", 60.0),
    "B02": ("blue", 10.0),
    "B03": ("green", 10.0),
    "B04": ("red", 10.0),
    "B05": ("rededge1", 20.0),
    "B06": ("rededge2", 20.0),
    "B07": ("rededge3", 20.0),
    "B08": ("nir", 10.0),
    "B8A": ("nir08", 20.0),
    "B09": ("nir09", 60.0),
    "B10": ("cirrus", 60.0),
    "B11": ("swir16", 20.0),
    "B12": ("swir22", 20.0),
}
"""Sentinel-2 band id -> (GeoVigie common name, native GSD in metres)."""

CANONICAL = frozenset(
    {"coastal", "blue", "green", "red", "yellow", "rededge1", "rededge2", "rededge3", "nir", "nir08", "nir09",
     "cirrus", "swir16", "swir22", "pan", "lwir", "lwir11", "lwir12"}
)  # fmt: skip
"""Names that are already canonical when a catalog uses them as band or asset names."""

CLASS_ASSETS = frozenset({"scl", "qa_pixel"})
"""Class-map assets used for cloud and shadow screening."""

NOT_REFLECTANCE = frozenset(
    {"aot", "wvp", "visual", "tci", "preview", "thumbnail", "rendered_preview", "qa_radsat", "qa_aerosol",
     "cloud_qa", "atmos_opacity"}
)  # fmt: skip
"""Asset keys that are never read as bands (atmospheric by-products, 8-bit composites)."""

_ALIASES: dict[str, str] = {
    "b1": "B01", "b2": "B02", "b3": "B03", "b4": "B04", "b5": "B05", "b6": "B06", "b7": "B07",
    "b8": "B08", "b9": "B09", "b8a": "B8A", "b10": "B10", "b11": "B11", "b12": "B12",
    "swir1": "swir16", "swir2": "swir22", "rededge": "rededge1", "panchromatic": "pan",
}  # fmt: skip


def normalise_band_name(name: str) -> str:
    """Map user/band-file spellings (b4, B4, B04, swir1…) to one canonical key."""
    key = name.strip()
    low = key.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    if low.upper() in SENTINEL2_BANDS:
        return low.upper()
    return low


@dataclass(frozen=True)
class BandRef:
    """Where one band lives: the asset file and the 1-based band index inside it, with its radiometry."""

    name: str
    common_name: str | None
    href: str
    index: int
    gsd: float | None
    asset: str = ""
    """Asset key in the item."""
    scale: float | None = None
    """``raster:bands`` scale (None when the catalog gives none)."""
    offset: float | None = None
    """``raster:bands`` offset (None when the catalog gives none)."""
    nodata: float | None = None
    data_type: str | None = None
    is_class: bool = False
    """True for class maps (SCL, QA_PIXEL): nearest-neighbour reads, never reflectance."""


def canonical_of(band: BandRef) -> str | None:
    """GeoVigie's common name of a band (S2 ids first, then canonical names, then ``common_name``)."""
    if band.name in SENTINEL2_BANDS:
        return SENTINEL2_BANDS[band.name][0]
    if band.name in CANONICAL:
        return band.name
    if band.common_name:
        return normalise_band_name(band.common_name)
    return None


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _asset_gsd(asset: dict[str, Any], raster: dict[str, Any], eo: dict[str, Any]) -> float | None:
    for value in (raster.get("spatial_resolution"), asset.get("gsd"), eo.get("gsd")):
        if _number(value):
            return _number(value)
    transform = asset.get("proj:transform")
    if isinstance(transform, list) and len(transform) >= 6:
        a, b, d, e = (_number(transform[i]) or 0.0 for i in (0, 1, 3, 4))
        size = math.sqrt(abs(a * e - b * d))
        if size > 0:
            return round(size, 3)
    return None


def _readable(asset: dict[str, Any]) -> bool:
    href = str(asset.get("href", ""))
    if "://" in href and not href.lower().startswith(("http://", "https://", "file://", "/vsi")):
        return False  # s3://, gs://...: mirrors that need cloud credentials
    media = str(asset.get("type", "")).lower()
    return "jp2" not in media and not href.lower().endswith(".jp2")


def _is_data(key: str, asset: dict[str, Any]) -> bool:
    roles = asset.get("roles") or ["data"]
    if key.lower() in CLASS_ASSETS:
        return True
    if key.lower() in NOT_REFLECTANCE or "visual" in roles or "overview" in roles or "thumbnail" in roles:
        return False
    return "data" in roles or "reflectance" in roles


def asset_bands(key: str, asset: dict[str, Any], item_gsd: float | None) -> list[BandRef]:
    """The bands of one asset (empty when the asset is not band data or cannot be read over http(s))."""
    if not _is_data(key, asset) or not _readable(asset):
        return []
    is_class = key.lower() in CLASS_ASSETS
    eo_list = asset.get("eo:bands") or asset.get("bands") or [{"name": key}]
    raster_list = asset.get("raster:bands") or []
    out = []
    for idx, eo in enumerate(eo_list, start=1):
        raster = raster_list[idx - 1] if idx - 1 < len(raster_list) else {}
        if not isinstance(eo, dict) or not isinstance(raster, dict):
            continue
        raw = str(eo.get("name") or key)
        # "blue" as an Earth Search asset key but "B02" in some copies: a single-band asset named by its key
        # keeps the more specific of the two.
        name = normalise_band_name(raw)
        if is_class:
            name = key.lower()
        elif len(eo_list) == 1 and name not in SENTINEL2_BANDS and name not in CANONICAL:
            key_name = normalise_band_name(key)
            if key_name in SENTINEL2_BANDS or key_name in CANONICAL:
                name = key_name
        out.append(
            BandRef(
                name=name,
                common_name=None if is_class else (eo.get("common_name") or eo.get("eo:common_name")),
                href=str(asset["href"]),
                index=idx,
                gsd=_asset_gsd(asset, raster, eo) or item_gsd,
                asset=key,
                scale=_number(raster.get("scale")),
                offset=_number(raster.get("offset")),
                nodata=_number(raster.get("nodata")),
                data_type=raster.get("data_type"),
                is_class=is_class,
            )
        )
    return out


def item_bands(item: dict[str, Any], item_gsd: float | None) -> list[BandRef]:
    """Every readable band of an item, one per canonical name (the finest asset wins a tie)."""
    seen: dict[str, BandRef] = {}
    order: list[str] = []
    for key, asset in (item.get("assets") or {}).items():
        if not isinstance(asset, dict) or "href" not in asset:
            continue
        for band in asset_bands(key, asset, item_gsd):
            name = canonical_of(band) or band.name
            known = seen.get(name)
            if known is None:
                order.append(name)
                seen[name] = band
            elif (band.gsd or math.inf) < (known.gsd or math.inf):
                seen[name] = band
    return [seen[n] for n in order]
