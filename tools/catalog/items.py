"""Build STAC items (pystac, eo + projection extensions) from rasters on disk.

Conventions written here and read by :class:`geovigie.tools.raster.scene.Scene`:

* ``gsd`` is in metres; for geographic rasters the degree pixel is converted at the raster's centre latitude,
  and the value is the square root of the pixel's ground area (what areas are computed from).
* footprint ``geometry`` is the raster's pixel grid outline, densified and transformed to EPSG:4326;
  images without a CRS get ``geometry: null``, no ``bbox`` and ``geovigie:georeferenced: false``.
* unknown acquisition dates: ``datetime: null`` with ``start_datetime`` 1970-01-01 and ``end_datetime`` the
  file's modification time (STAC-valid, and honest: acquired some time before the file was written), plus
  ``geovigie:date_precision: "unknown"``. Year/month-only dates set ``datetime`` to mid-period and
  ``start_/end_datetime`` to the period.
* caveats found while reading go to ``geovigie:notes``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import rasterio
from pyproj import Geod
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from rasterio.crs import CRS
from rasterio.enums import ColorInterp
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import transform_geom
from shapely.geometry import Polygon, mapping, shape

from geovigie.tools.catalog.layouts import DateInfo, period_bounds
from geovigie.tools.raster import SENTINEL2_BANDS, normalise_band_name

_GEOD = Geod(ellps="WGS84")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

COMMON_NAMES = frozenset(
    {"coastal", "blue", "green", "red", "yellow", "rededge", "rededge1", "rededge2", "rededge3", "nir", "nir08",
     "nir09", "cirrus", "swir16", "swir22", "pan", "lwir", "lwir11", "lwir12"}
)  # fmt: skip
SAR_POLARISATIONS = frozenset({"vv", "vh", "hh", "hv"})

# Centre wavelength ranges (micrometres) -> common name, for sensors that only give wavelengths (ENVI headers).
_WAVELENGTHS: tuple[tuple[float, float, str], ...] = (
    (0.40, 0.45, "coastal"), (0.45, 0.52, "blue"), (0.52, 0.60, "green"), (0.62, 0.70, "red"),
    (0.70, 0.75, "rededge"), (0.75, 0.95, "nir"), (1.50, 1.80, "swir16"), (2.00, 2.40, "swir22"),
)  # fmt: skip
_WAVELENGTH_RE = re.compile(r"\((\d+\.\d+) ?(?:micrometers|um|µm)\)", re.IGNORECASE)

_MEDIA_TYPES: dict[str, str] = {
    "GTiff": str(pystac.MediaType.GEOTIFF),
    "PNG": str(pystac.MediaType.PNG),
    "JPEG": str(pystac.MediaType.JPEG),
    "JP2OpenJPEG": str(pystac.MediaType.JPEG2000),
    "BMP": "image/bmp",
    "ENVI": "application/x-envi",
}


@dataclass(frozen=True)
class BandSpec:
    """One band as written to ``eo:bands``."""

    name: str
    common_name: str | None = None

    def to_band(self) -> Band:
        """The pystac eo Band."""
        return Band.create(name=self.name, common_name=self.common_name)


def band_from_text(text: str) -> BandSpec | None:
    """A band from a description or a name: S2 ids (B4, B04), common names, SAR polarisations, wavelengths."""
    key = normalise_band_name(text)
    if key in SENTINEL2_BANDS:
        return BandSpec(key, SENTINEL2_BANDS[key][0])
    if key in COMMON_NAMES:
        return BandSpec(key, key)
    if key in SAR_POLARISATIONS:
        return BandSpec(key.upper())
    found = _WAVELENGTH_RE.search(text)
    if found:
        wl = float(found[1])
        for low, high, name in _WAVELENGTHS:
            if low <= wl < high:
                return BandSpec(name, name)
    return None


def describe_bands(
    count: int,
    descriptions: tuple[str | None, ...],
    colorinterp: tuple[ColorInterp, ...],
    known: tuple[str, ...] | None,
) -> tuple[list[BandSpec], list[str]]:
    """Name the bands of a raster: known order > band descriptions > colour interpretation > band count.

    Returns:
        The bands in file order and notes on any assumption made.
    """
    if known is not None:
        if len(known) == count:
            return [band_from_text(n) or BandSpec(n) for n in known], []
        note = f"expected {len(known)} bands ({', '.join(known)}) but the file has {count}; order unknown"
        return [BandSpec(f"band{i + 1}") for i in range(count)], [note]
    from_desc = [band_from_text(d) if d else None for d in descriptions]
    if count and all(from_desc):
        return [b for b in from_desc if b is not None], []
    interp = [c.name for c in colorinterp]
    if count >= 3 and interp[:3] == ["red", "green", "blue"] and (count == 3 or interp[3] == "alpha"):
        extra = [BandSpec("alpha") if c == "alpha" else BandSpec(f"band{i + 4}") for i, c in enumerate(interp[3:])]
        return [*_rgb(), *extra], []
    if count == 3:
        return _rgb(), ["band order assumed red, green, blue from the band count"]
    if count == 4:
        return [*_rgb(), BandSpec("nir", "nir")], [
            "band order assumed red, green, blue, nir (NAIP) from the band count"
        ]
    if count == 1 or (count == 2 and interp[1:] == ["alpha"]):
        return [BandSpec("pan", "pan"), *([BandSpec("alpha")] if count == 2 else [])], [
            "single band treated as panchromatic"
        ]
    note = f"{count} bands with unknown meaning; describe them in a <file>.geovigie.json sidecar"
    return [BandSpec(f"band{i + 1}") for i in range(count)], [note]


def _rgb() -> list[BandSpec]:
    return [BandSpec("red", "red"), BandSpec("green", "green"), BandSpec("blue", "blue")]


def _colorinterp(ds: Any) -> tuple[ColorInterp, ...]:
    """Colour interpretation, except that an "alpha" 4th band holding values other than 0/255 is data.

    GDAL flags the 4th band of any 4-band byte GeoTIFF written with default options as alpha, although for
    satellite imagery it is usually near infrared; a small decimated read tells the two apart.
    """
    interp = list(ds.colorinterp)
    if ds.count >= 4 and interp[3] == ColorInterp.alpha:
        sample = ds.read(4, out_shape=(min(ds.height, 64), min(ds.width, 64)))
        if not set(np.unique(sample).tolist()) <= {0, 255}:
            interp[3] = ColorInterp.undefined
    return tuple(interp)


def _pixel_to_crs(transform: Any, col: float, row: float) -> tuple[float, float]:
    # Written out because affine's ``*`` on tuples is deprecated and ``@`` needs affine >= 3.
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    return a * col + b * row + c, d * col + e * row + f


def gsd_metres(crs: CRS, transform: Any, width: int, height: int) -> float:
    """Ground pixel size in metres: sqrt of the pixel's ground area (degrees converted at the centre)."""
    a, b, _c, d, e, _f = (float(v) for v in tuple(transform)[:6])
    if crs.is_geographic:
        cx, cy = _pixel_to_crs(transform, width / 2, height / 2)
        dx = _GEOD.inv(cx, cy, cx + a, cy + d)[2]
        dy = _GEOD.inv(cx, cy, cx + b, cy + e)[2]
        return round(math.sqrt(abs(dx * dy)), 3)
    try:
        factor = float(crs.linear_units_factor[1])
    except Exception:  # noqa: BLE001 - exotic CRS without a linear unit: assume metres
        factor = 1.0
    return round(math.sqrt(abs(a * e - b * d)) * factor, 3)


def footprint(crs: CRS, transform: Any, width: int, height: int) -> tuple[dict[str, Any], list[float]]:
    """WGS84 footprint (GeoJSON) and bbox of a pixel grid, densified so that reprojection keeps its shape."""
    corners = [_pixel_to_crs(transform, c, r) for c, r in ((0, 0), (width, 0), (width, height), (0, height))]
    poly = Polygon(corners)
    if crs.to_epsg() != 4326:
        step = max(poly.length / 80.0, 1e-9)
        poly = poly.segmentize(step)
    geom = transform_geom(crs, "EPSG:4326", mapping(poly))
    west, south, east, north = shape(geom).bounds
    return dict(geom), [west, south, east, north]


def apply_date(props: dict[str, Any], info: DateInfo, *, mtime: float) -> datetime | None:
    """Write the date fields; return the value for ``pystac.Item(datetime=...)``."""
    props["geovigie:date_precision"] = info.precision
    props["geovigie:date_source"] = info.source
    if info.value is None:
        props["start_datetime"] = pystac.utils.datetime_to_str(_EPOCH)
        props["end_datetime"] = pystac.utils.datetime_to_str(datetime.fromtimestamp(int(mtime), tz=UTC))
        return None
    bounds = period_bounds(info)
    if bounds:
        props["start_datetime"] = pystac.utils.datetime_to_str(bounds[0])
        props["end_datetime"] = pystac.utils.datetime_to_str(bounds[1])
    return info.value


def media_type(ds: Any) -> str | None:
    """STAC media type of an open raster (COG when tiled with overviews)."""
    if ds.driver == "GTiff" and ds.profile.get("tiled") and ds.overviews(1):
        return str(pystac.MediaType.COG)
    return _MEDIA_TYPES.get(ds.driver)


def open_quiet(path: Path) -> Any:
    """Open a raster without the NotGeoreferencedWarning that plain images raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        return rasterio.open(path)


@dataclass(frozen=True)
class ItemMeta:
    """Item-level metadata decided by the caller (rules, sidecars, product metadata)."""

    item_id: str
    collection: str
    date: DateInfo
    mtime: float
    platform: str | None = None
    level: str | None = None
    scale: float | None = None
    cloud_cover: float | None = None
    extra: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()


def _new_item(meta: ItemMeta, geometry: dict[str, Any] | None, bbox: list[float] | None) -> pystac.Item:
    props: dict[str, Any] = {}
    when = apply_date(props, meta.date, mtime=meta.mtime)
    if meta.platform:
        props["platform"] = meta.platform
        props["constellation"] = meta.platform
    if meta.level:
        props["processing:level"] = meta.level
    if meta.scale is not None:
        props["geovigie:scale"] = meta.scale
    props.update(meta.extra or {})
    item = pystac.Item(
        id=meta.item_id, geometry=geometry, bbox=bbox, datetime=when, properties=props, collection=meta.collection
    )
    if meta.cloud_cover is not None:
        EOExtension.ext(item, add_if_missing=True).cloud_cover = float(meta.cloud_cover)
    return item


def _set_proj(target: pystac.Item | pystac.Asset, crs: CRS, shape_hw: list[int], transform: Any) -> None:
    proj: ProjectionExtension[Any] = (
        ProjectionExtension.ext(target, add_if_missing=True)
        if isinstance(target, pystac.Item)
        else ProjectionExtension.ext(target, add_if_missing=True)
    )
    epsg = crs.to_epsg()
    if epsg is not None:
        proj.epsg = epsg
    else:
        proj.wkt2 = crs.to_wkt()
    proj.shape = shape_hw
    proj.transform = [float(v) for v in tuple(transform)[:6]]


def _finish(item: pystac.Item, notes: list[str]) -> dict[str, Any]:
    if notes:
        item.properties["geovigie:notes"] = notes
    data = item.to_dict(include_self_link=False, transform_hrefs=False)
    data.pop("links", None)
    data["links"] = []
    return data


def raster_item(
    path: Path,
    meta: ItemMeta,
    *,
    known_bands: tuple[str, ...] | None,
    pixel_size_m: float | None,
    user_pixel_size: bool = False,
) -> dict[str, Any]:
    """STAC item (as a dict) for one raster file holding all its bands.

    Args:
        path: The raster (GeoTIFF, ENVI data file, PNG, JPEG...).
        meta: Id, collection, date and other item-level metadata.
        known_bands: Band names in file order when a rule or sidecar knows them.
        pixel_size_m: Pixel size for images without a CRS (ignored when the raster is georeferenced).
        user_pixel_size: True when the user gave ``pixel_size_m`` (then ignoring it deserves a note).
    """
    notes = list(meta.notes)
    with open_quiet(path) as ds:
        bands, band_notes = describe_bands(ds.count, tuple(ds.descriptions), _colorinterp(ds), known_bands)
        notes += band_notes
        geo = ds.crs is not None
        geometry, bbox = footprint(ds.crs, ds.transform, ds.width, ds.height) if geo else (None, None)
        gsd = gsd_metres(ds.crs, ds.transform, ds.width, ds.height) if geo else pixel_size_m
        item = _new_item(meta, geometry, bbox)
        asset = pystac.Asset(href=str(path.resolve()), media_type=media_type(ds), roles=["data"])
        item.add_asset("data", asset)
        EOExtension.ext(item.assets["data"], add_if_missing=True).bands = [b.to_band() for b in bands]
        if geo:
            _set_proj(item, ds.crs, [ds.height, ds.width], ds.transform)
        else:
            item.properties["proj:shape"] = [ds.height, ds.width]
        item.properties["geovigie:dtype"] = ds.dtypes[0]
    item.properties["geovigie:georeferenced"] = geo
    if gsd is not None:
        item.common_metadata.gsd = float(gsd)
        if not geo:
            item.properties["geovigie:pixel_size_m"] = float(gsd)
    elif not geo:
        notes.append("not georeferenced and pixel size unknown: sizes in pixels (use --pixel-size)")
    if geo and pixel_size_m is not None and user_pixel_size:
        notes.append("pixel size given by the user ignored: the raster is georeferenced")
    return _finish(item, notes)


def band_product_item(band_files: Mapping[str, Path], meta: ItemMeta) -> dict[str, Any]:
    """STAC item for a product stored as one file per band (OSCD, BigEarthNet, SAFE-like folders).

    Args:
        band_files: Band id (B02, B8A, VV...) -> file.
        meta: Item-level metadata.
    """
    grids = {}
    for band_id, path in band_files.items():
        with open_quiet(path) as ds:
            if ds.crs is None:
                raise ValueError(f"{path.name} has no CRS")
            grids[band_id] = (ds.crs, ds.transform, ds.width, ds.height, ds.driver, ds.dtypes[0])
    finest = max(grids, key=lambda k: grids[k][2] * grids[k][3])
    crs, transform, width, height, _driver, dtype = grids[finest]
    geometry, bbox = footprint(crs, transform, width, height)
    item = _new_item(meta, geometry, bbox)
    order = sorted(band_files, key=_band_order)
    for band_id in order:
        b_crs, b_tr, b_w, b_h, b_driver, _ = grids[band_id]
        spec = band_from_text(band_id) or BandSpec(band_id)
        asset = pystac.Asset(
            href=str(band_files[band_id].resolve()), media_type=_MEDIA_TYPES.get(b_driver), roles=["data"]
        )
        asset.extra_fields["gsd"] = gsd_metres(b_crs, b_tr, b_w, b_h)
        item.add_asset(spec.name, asset)
        EOExtension.ext(item.assets[spec.name], add_if_missing=True).bands = [spec.to_band()]
        _set_proj(item.assets[spec.name], b_crs, [b_h, b_w], b_tr)
    _set_proj(item, crs, [height, width], transform)
    item.common_metadata.gsd = gsd_metres(crs, transform, width, height)
    item.properties["geovigie:georeferenced"] = True
    item.properties["geovigie:dtype"] = dtype
    return _finish(item, list(meta.notes))


def _band_order(band_id: str) -> tuple[int, str]:
    key = normalise_band_name(band_id)
    ids = list(SENTINEL2_BANDS)
    return (ids.index(key), key) if key in ids else (len(ids), key)
