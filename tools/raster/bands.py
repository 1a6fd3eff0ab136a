"""Bands of a STAC item's assets as real catalogs publish them (Earth Search v1, Planetary Computer, local ingest).

Which assets hold reflectance, under which canonical name, at which pixel size:

* **names.** Sentinel-2 ids (``B8A``) map through :data:`SENTINEL2_BANDS` before any ``common_name``, because
  Planetary Computer labels B05, B06, B07 *and* B8A ``common_name: rededge``; Earth Search names its bands
  ``rededge2``, ``nir08``... directly. On items of another mission (Landsat: USGS names OLI bands ``B1``...``B7``,
  and its ``B5`` is NIR, not Sentinel-2's red edge) ids are never read as Sentinel-2 ids: the ``common_name`` or
  the asset key (``nir08``, ``swir16``) names the band.
* **skipped.** Assets that are not data (thumbnails, metadata, zipped product archives), non-http(s) mirrors
  (Earth Search's ``s3://...jp2`` duplicates, unreadable without AWS credentials), 8-bit ``visual`` true-colour
  composites, and atmospheric by-products (AOT, WVP) that no tool should read as reflectance, even where the
  catalog gives them the ``reflectance`` role and a ``raster:bands`` scale (Earth Search v1 does). Asset keys are
  compared without a resolution suffix (Copernicus Data Space names them ``SCL_20m``, ``AOT_10m``, ``TCI_10m``).
* **radiometry fields.** ``raster:bands[]`` (raster extension 1.x), else the STAC 1.1 band fields
  (``bands[].raster:scale``, ``nodata``, ``data_type``), else the same fields on the asset itself.
* **class maps.** SCL (Sentinel-2 scene classification) and QA_PIXEL (Landsat bit flags) are kept under their
  own names, flagged ``is_class`` so that they are read with nearest-neighbour resampling and never as
  reflectance.
* **pixel size.** ``raster:bands[].spatial_resolution``, else the asset's ``gsd``, else ``eo:bands[].gsd``,
  else the asset's ``proj:transform`` pixel, else the item-level ``proj:transform`` (USGS Landsat items carry
  ``proj:*`` on the item only), else the item's ``gsd``.
"""

from __future__ import annotations

import math
import re
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

_PLAIN_ALIASES: dict[str, str] = {"swir1": "swir16", "swir2": "swir22", "rededge": "rededge1", "panchromatic": "pan"}
"""Spellings that mean the same band on any mission (unlike ``b4``, a different band on Landsat and Sentinel-2)."""

_RESOLUTION_SUFFIX = re.compile(r"_\d+m$")

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


def _asset_gsd(
    asset: dict[str, Any], raster: dict[str, Any], eo: dict[str, Any], item_transform: Any = None
) -> float | None:
    resolution = (raster.get("spatial_resolution"), eo.get("raster:spatial_resolution"),
                  asset.get("raster:spatial_resolution"), asset.get("gsd"), eo.get("gsd"))  # fmt: skip
    for value in resolution:
        if _number(value):
            return _number(value)
    transform = asset.get("proj:transform", item_transform)
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


def key_stem(key: str) -> str:
    """An asset key without its resolution suffix, lower-cased (``SCL_20m`` -> ``scl``)."""
    return _RESOLUTION_SUFFIX.sub("", key.strip()).lower()


_NOT_BAND_ROLES = frozenset({"visual", "overview", "thumbnail", "metadata", "archive"})
_NOT_BAND_MEDIA = ("zip", "xml", "json", "text/", "html")
"""Media types of archives and metadata (PNG/JPEG stay: local photos are band data)."""


def _is_data(key: str, asset: dict[str, Any]) -> bool:
    roles = asset.get("roles") or ["data"]
    stem = key_stem(key)
    if stem in CLASS_ASSETS:
        return True
    if stem in NOT_REFLECTANCE or _NOT_BAND_ROLES.intersection(roles):
        return False
    media = str(asset.get("type", "")).lower()
    if any(m in media for m in _NOT_BAND_MEDIA):
        return False  # a zipped product or a metadata file, whatever its roles say
    return "data" in roles or "reflectance" in roles


def _plain_name(name: str) -> str:
    """A band name normalised without reading ``B4``-style ids as Sentinel-2 ids."""
    low = name.strip().lower()
    return _PLAIN_ALIASES.get(low, low)


def _field(key: str, *sources: dict[str, Any]) -> Any:
    """The first value of ``key`` (or its STAC 1.1 ``raster:`` spelling) found in ``sources``."""
    for source in sources:
        for name in (key, f"raster:{key}"):
            if source.get(name) is not None:
                return source[name]
    return None


def asset_bands(
    key: str,
    asset: dict[str, Any],
    item_gsd: float | None,
    *,
    sentinel2_ids: bool = True,
    item_transform: Any = None,
) -> list[BandRef]:
    """The bands of one asset (empty when the asset is not band data or cannot be read over http(s)).

    Args:
        key: Asset key.
        asset: Asset object.
        item_gsd: The item's ``gsd`` (last resort for the pixel size).
        sentinel2_ids: Read ids such as ``B04`` as Sentinel-2 band ids (False on items of another mission).
        item_transform: The item-level ``proj:transform``, for assets without their own.
    """
    if not _is_data(key, asset) or not _readable(asset):
        return []
    is_class = key_stem(key) in CLASS_ASSETS
    normalise = normalise_band_name if sentinel2_ids else _plain_name
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
        name = normalise(raw)
        if is_class:
            name = key_stem(key)
        elif len(eo_list) == 1 and name not in SENTINEL2_BANDS and name not in CANONICAL:
            key_name = normalise(key_stem(key))
            if key_name in SENTINEL2_BANDS or key_name in CANONICAL:
                name = key_name
        out.append(
            BandRef(
                name=name,
                common_name=None if is_class else (eo.get("common_name") or eo.get("eo:common_name")),
                href=str(asset["href"]),
                index=idx,
                gsd=_asset_gsd(asset, raster, eo, item_transform) or item_gsd,
                asset=key,
                scale=_number(_field("scale", raster, eo, asset)),
                offset=_number(_field("offset", raster, eo, asset)),
                nodata=_number(_field("nodata", raster, eo, asset)),
                data_type=_field("data_type", raster, eo, asset),
                is_class=is_class,
            )
        )
    return out


def other_mission(item: dict[str, Any]) -> bool:
    """True when the item says it is not Sentinel-2 (its platform, constellation or collection names another)."""
    props = item.get("properties") or {}
    named = [str(v).lower().replace("_", "-") for v in (item.get("collection"), props.get("platform"),
             props.get("constellation")) if v]  # fmt: skip
    if any("sentinel-2" in n or "sentinel2" in n for n in named):
        return False
    return any(n.startswith(("landsat", "lc0", "le0", "lt0")) or "landsat" in n for n in named)


def item_bands(item: dict[str, Any], item_gsd: float | None) -> list[BandRef]:
    """Every readable band of an item, one per canonical name (the finest asset wins a tie)."""
    seen: dict[str, BandRef] = {}
    order: list[str] = []
    s2_ids = not other_mission(item)
    transform = (item.get("properties") or {}).get("proj:transform")
    for key, asset in (item.get("assets") or {}).items():
        if not isinstance(asset, dict) or "href" not in asset:
            continue
        for band in asset_bands(key, asset, item_gsd, sentinel2_ids=s2_ids, item_transform=transform):
            name = canonical_of(band) or band.name
            known = seen.get(name)
            if known is None:
                order.append(name)
                seen[name] = band
            elif (band.gsd or math.inf) < (known.gsd or math.inf):
                seen[name] = band
    return [seen[n] for n in order]
