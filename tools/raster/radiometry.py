"""Stored values -> reflectance: scale and offset per band, from metadata, collection knowledge and the pixels.

Order of evidence, per band:

1. a local item's ``geovigie:scale`` (set by the ingest; offset 0);
2. the asset's ``raster:bands`` scale/offset;
3. collection knowledge where the catalog gives none: Sentinel-2 L2A is DN x 1e-4, and from processing
   baseline 04.00 (25 January 2022) DN = reflectance x 10000 + 1000 (offset -0.1); Landsat Collection 2
   Level-2 surface reflectance is DN x 2.75e-5 - 0.2; Sentinel-1 RTC (Planetary Computer) stores linear
   gamma0, turned into dB (the unit the SAR water mask works in).

Known metadata faults are corrected: an offset of -0.1 on a Sentinel-2 item of baseline < 04.00 (Earth Search
items carried one, element84/earth-search issues 65-71) is dropped. Then the decision is **checked against the
pixels** once per scene: a decimated read (an overview) of a visible band counts the valid values below
1000 DN. With the offset present no surface reflects below 0, so if more than 1 % of the pixels are below
1000 DN the offset was in fact already removed and is not applied; if a baseline >= 04.00 scene said to have
no offset has no value below 1000 DN at all, the offset is applied. Each decision is kept (``decision_of``)
and cited in provenance. Earth Search's ``earthsearch:boa_offset_applied: true`` says its COG pixels were already
harmonised (the offset removed) while ``raster:bands`` still declares -0.1: the offset is then not applied, unless
the pixel check finds no value below 1000 DN at all.
"""

from __future__ import annotations

import logging
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from geovigie.tools.raster.bands import BandRef

logger = logging.getLogger(__name__)

S2_SCALE = 1e-4
S2_OFFSET = -0.1
S2_OFFSET_BASELINE = 4.0
LANDSAT_SCALE = 2.75e-5
LANDSAT_OFFSET = -0.2
BELOW_OFFSET_MAX = 0.01
"""Share of pixels below 1000 DN beyond which a -1000 DN offset is taken as already applied."""
PROBE_SIZE = 256


@dataclass(frozen=True)
class Radiometry:
    """What turns one band's stored values into reflectance."""

    scale: float | None
    offset: float
    source: str
    """Where it came from (metadata, collection knowledge, pixel check), in words."""
    to_db: bool = False
    """Linear radar power (Sentinel-1 RTC gamma0) turned into dB after scaling, as the SAR tools expect."""

    def describe(self) -> str:
        """E.g. ``x 0.0001 - 0.1 (raster:bands)``."""
        if self.to_db:
            return f"10 log10(linear gamma0) ({self.source})"
        if self.scale is None:
            return f"raw values ({self.source})"
        sign = "-" if self.offset < 0 else "+"
        tail = f" {sign} {abs(self.offset):g}" if self.offset else ""
        return f"x {self.scale:g}{tail} ({self.source})"


_DECISIONS: dict[str, Radiometry] = {}
_LOCK = threading.Lock()


def _baseline(props: dict[str, object]) -> float | None:
    # STAC 1.1 catalogs (Copernicus Data Space) give the baseline as ``processing:version`` only.
    value = props.get("s2:processing_baseline", props.get("processing:version"))
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None


def _family(item: dict[str, object]) -> str | None:
    props = item.get("properties") or {}
    assert isinstance(props, dict)
    collection = str(item.get("collection") or "").lower()
    platform = str(props.get("platform") or props.get("constellation") or "").lower()
    if "sentinel-1" in collection and "rtc" in collection:
        return "sentinel-1-rtc"
    if "landsat" in collection or platform.startswith("landsat"):
        return "landsat-l2" if ("l2" in collection or "sr" in collection) else None
    is_s2 = "sentinel-2" in collection or platform.startswith("sentinel-2")
    if is_s2 and ("l2a" in collection or props.get("s2:product_type") == "S2MSI2A"):
        return "sentinel-2-l2a"
    return None


def metadata_radiometry(item: dict[str, object], band: BandRef) -> Radiometry:
    """The radiometry that metadata and collection knowledge give (before the pixel check)."""
    props = item.get("properties") or {}
    assert isinstance(props, dict)
    if band.is_class:
        return Radiometry(None, 0.0, "class map")
    local = props.get("geovigie:scale")
    if local is not None and not props.get("geovigie:source_api"):
        return Radiometry(float(str(local)), 0.0, "ingest")
    family = _family(item)
    baseline = _baseline(props)
    if family == "sentinel-1-rtc" and band.name in ("vv", "vh", "hh", "hv"):
        return Radiometry(band.scale, band.offset or 0.0, "Sentinel-1 RTC knowledge: linear gamma0 to dB", to_db=True)
    if band.scale is not None:
        offset = band.offset or 0.0
        if family == "sentinel-2-l2a" and offset and baseline is not None and baseline < S2_OFFSET_BASELINE:
            return Radiometry(band.scale, 0.0, f"raster:bands, offset {offset:g} dropped: baseline {baseline:05.2f}")
        if family == "sentinel-2-l2a" and offset and props.get("earthsearch:boa_offset_applied") is True:
            # Earth Search harmonised these COGs already; its raster:bands still declares the offset.
            return Radiometry(band.scale, 0.0, f"raster:bands, offset {offset:g} not applied: boa_offset_applied")
        return Radiometry(band.scale, offset, "raster:bands")
    if family == "sentinel-2-l2a":
        offset = S2_OFFSET if baseline is not None and baseline >= S2_OFFSET_BASELINE else 0.0
        where = f"baseline {baseline:05.2f}" if baseline is not None else "baseline unknown"
        return Radiometry(S2_SCALE, offset, f"Sentinel-2 L2A knowledge, {where}")
    if family == "landsat-l2":
        return Radiometry(LANDSAT_SCALE, LANDSAT_OFFSET, "Landsat C2 L2 knowledge")
    if local is not None:
        return Radiometry(float(str(local)), 0.0, "item scale")
    return Radiometry(None, 0.0, "no scale known")


def _share_below(href: str, index: int, nodata: float | None, limit: float) -> float | None:
    """Share of valid values below ``limit`` in a decimated read (an overview of a COG), None if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(href) as src:
                h = min(src.height, PROBE_SIZE)
                w = min(src.width, PROBE_SIZE)
                arr = src.read(index, out_shape=(h, w))
                file_nodata = src.nodatavals[index - 1] if src.nodatavals else None
    except RasterioIOError as exc:
        logger.warning("radiometry probe of %s failed: %s", href, exc)
        return None
    fill = nodata if nodata is not None else file_nodata
    valid = arr[(arr != fill) & (arr > 0)] if fill is not None else arr[arr > 0]
    if valid.size < 100:
        return None
    return float(np.mean(valid < limit))


def _checked(item: dict[str, object], meta: Radiometry, probe: BandRef, href: str) -> Radiometry:
    props = item.get("properties") or {}
    assert isinstance(props, dict)
    if _family(item) != "sentinel-2-l2a" or meta.scale is None:
        return meta
    baseline = _baseline(props)
    offset_dn = 1000.0 if meta.offset == 0 else -meta.offset / meta.scale
    share = _share_below(href, probe.index, probe.nodata, offset_dn)
    if share is None:
        return meta
    if meta.offset < 0 and share > BELOW_OFFSET_MAX:
        return Radiometry(
            meta.scale, 0.0, f"{meta.source}; offset not applied: {share:.1%} of pixels < {offset_dn:g} DN"
        )
    if meta.offset == 0 and baseline is not None and baseline >= S2_OFFSET_BASELINE and share == 0.0:
        return Radiometry(meta.scale, S2_OFFSET, f"{meta.source}; offset applied: no pixel < 1000 DN")
    return Radiometry(meta.scale, meta.offset, f"{meta.source}; checked on pixels")


def radiometry_of(item: dict[str, object], band: BandRef, probe: BandRef | None, href: str | None) -> Radiometry:
    """The radiometry of ``band``, with the scene-wide offset checked once on ``probe`` (read through ``href``).

    Args:
        item: The STAC item.
        band: The band being read.
        probe: A visible band of the same scene used for the pixel check (None: no check).
        href: The readable (signed) href of ``probe``.
    """
    meta = metadata_radiometry(item, band)
    if meta.scale is None or probe is None or href is None or _family(item) != "sentinel-2-l2a":
        return meta
    key = f"{item.get('id')}|{meta.scale}|{meta.offset}"
    with _LOCK:
        known = _DECISIONS.get(key)
    if known is None:
        known = _checked(item, metadata_radiometry(item, probe), probe, href)
        with _LOCK:
            _DECISIONS[key] = known
    # The scene-wide offset decision applies to every band with the same metadata radiometry.
    return Radiometry(meta.scale, known.offset, known.source)


def decision_of(item_id: str) -> list[str]:
    """Radiometry decisions taken for an item in this process (for provenance)."""
    with _LOCK:
        return sorted({r.describe() for k, r in _DECISIONS.items() if k.split("|", 1)[0] == item_id})
