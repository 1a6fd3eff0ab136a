"""Open water from SAR backscatter (Sentinel-1 VV, optionally VH, in dB).

Calm water reflects the radar pulse away from the sensor (specular reflection), so it is dark.

Stable API (called by :func:`geovigie.tools.segment.masks.water_mask` and ``segment``)::

    mask, method = sar_water_mask(raster)          # bool (H, W); method.index == "sar_vv"
    mask = sar_water_mask(raster, threshold=method.threshold, vh_threshold=method.extra.get("vh_threshold_db"))[0]

Method (general parameters from the flood-mapping literature, not fitted to any labelled chip):

* light speckle filtering: 3x3 median on each dB band before anything else;
* VV threshold: Otsu on the filtered VV histogram (the Sen1Floods11 paper, Bonafilia et al. 2020, uses Otsu
  on VV as its thresholding baseline), accepted when bimodal and clamped to [-24, -12] dB; an Otsu value more
  than 3 dB outside that range split two land covers (no water) and is rejected, as is a unimodal histogram,
  for the fixed -18 dB (usual fixed VV water thresholds lie between -15 and -20 dB);
* VH agreement, when VH was read and its own histogram is bimodal: water must also be below the VH Otsu
  threshold clamped to [-30, -18] dB (cross-polarised water returns are ~6-8 dB below VV); otherwise VV alone;
* a user threshold is a VV threshold in dB and is used alone (no VH test).

Radar water maps confuse water with other smooth or shadowed surfaces (tarmac, airport runways, dry sand,
radar shadow behind relief) and miss water roughened by wind or flooded vegetation (double bounce makes it
bright). No cloud screening is needed: radar sees through clouds.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import RasterData, Scene
from geovigie.tools.segment.indices import band_of, has_band
from geovigie.tools.segment.thresholds import MaskMethod, ThresholdSource, otsu_threshold

VV_BOUNDS_DB = (-24.0, -12.0)
VV_DEFAULT_DB = -18.0
VH_BOUNDS_DB = (-30.0, -18.0)
OTSU_REJECT_DB = 3.0
DB_RANGE = (-40.0, 10.0)
"""Histogram range for Otsu (backscatter of natural surfaces lies well inside it)."""
SPECKLE_SIZE = 3
SAR_CAVEAT = (
    "Radar water maps confuse water with other smooth or shadowed surfaces (tarmac, runways, dry sand, radar "
    "shadow) and miss wind-roughened water and flooded vegetation."
)
NO_CLOUD_NOTE = "Cloud screening: not needed: radar (SAR) sees through clouds."


def is_sar_only(scene: Scene) -> bool:
    """True when the scene has VV backscatter but none of the optical bands any water index needs."""
    optical = any(scene.has_bands(b) for b in ("green", "red", "blue", "nir", "swir16"))
    return scene.has_bands("vv") and not optical


def despeckled(raster: RasterData, band: str) -> np.ndarray:
    """The band (dB) after a 3x3 median filter, NaN kept where the input was NaN (computed once per raster)."""

    def compute() -> np.ndarray:
        db = band_of(raster, band).astype(np.float32, copy=False)
        nan = ~np.isfinite(db)
        if nan.all():
            return db.copy()
        # A median over NaN is undefined: fill no-data with the band median so it neither darkens nor brightens.
        filled = np.where(nan, np.float32(np.nanmedian(db)), db)
        out: np.ndarray = median_filter(filled, size=SPECKLE_SIZE, mode="nearest")
        out[nan] = np.nan
        return out

    return raster.derived(f"sar_median3:{band}", compute)


def _auto(values: np.ndarray, bounds: tuple[float, float]) -> tuple[float | None, ThresholdSource]:
    sample = values.ravel()
    if sample.size > 2_000_000:
        sample = sample[:: sample.size // 2_000_000 + 1]
    t, bimodal = otsu_threshold(sample, value_range=DB_RANGE)
    if not bimodal or not np.isfinite(t):
        return None, "fixed_unimodal"
    if t < bounds[0] - OTSU_REJECT_DB or t > bounds[1] + OTSU_REJECT_DB:
        return None, "fixed_otsu_out_of_range"
    clamped = float(min(max(t, bounds[0]), bounds[1]))
    return round(clamped, 2), ("otsu" if clamped == t else "otsu_clamped")


def sar_water_mask(
    raster: RasterData,
    *,
    threshold: float | None = None,
    vh_threshold: float | None = None,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, MaskMethod]:
    """Open water as low VV backscatter (and low VH when available), after 3x3 median speckle filtering.

    Args:
        raster: Bands ``vv`` (and optionally ``vh``) in dB.
        threshold: VV threshold in dB; None = automatic (Otsu clamped to [-24, -12] dB, else -18 dB). When
            given, VH is used only if ``vh_threshold`` is given too (tiles re-use both from the method).
        vh_threshold: VH threshold in dB (from a previous call's ``method.extra["vh_threshold_db"]``).
        valid: Pixels to consider; None = the raster's valid pixels. NaN pixels are never in the mask.

    Returns:
        (bool mask, method); ``method.threshold`` is the VV threshold in dB.

    Raises:
        ToolInputError: no VV band was read, or the threshold is not a plausible dB value.
    """
    if not has_band(raster, "vv"):
        raise ToolInputError(
            f"SAR water mapping needs the VV band; bands read are {', '.join(raster.band_names)}.",
            hint="Use a Sentinel-1 scene with VV backscatter in dB.",
        )
    if threshold is not None and not -40 <= threshold <= 0:
        raise ToolInputError(
            f"SAR water threshold {threshold:g} is not a VV backscatter in dB.",
            hint="Give a dB value such as -18 (water is usually below -15 to -20 dB), or leave it empty.",
        )
    ok = raster.valid if valid is None else valid
    vv = despeckled(raster, "vv")
    source: ThresholdSource = "user"
    t_vv: float = float(threshold) if threshold is not None else VV_DEFAULT_DB
    if threshold is None:
        auto, source = _auto(vv[ok], VV_BOUNDS_DB)
        t_vv = auto if auto is not None else VV_DEFAULT_DB
        if has_band(raster, "vh"):
            vh_threshold = _auto(despeckled(raster, "vh")[ok], VH_BOUNDS_DB)[0]
    with np.errstate(invalid="ignore"):
        mask = ok & (vv < t_vv)
        if vh_threshold is not None:
            mask &= despeckled(raster, "vh") < vh_threshold
    bands: tuple[str, ...] = ("vv", "vh") if vh_threshold is not None else ("vv",)
    vh_text = f" and VH < {vh_threshold:g} dB" if vh_threshold is not None else ""
    desc = (
        f"SAR VV backscatter < {t_vv:g} dB ({source.replace('_', ' ')}){vh_text}, 3x3 median speckle filter; "
        "radar confuses water with smooth surfaces (tarmac, sand, radar shadow)"
    )
    extra = {"vh_threshold_db": float(vh_threshold)} if vh_threshold is not None else {}
    return mask, MaskMethod("water", "sar_vv", t_vv, source, bands, False, desc, extra)
