"""The optional ukis-csmask cloud + shadow screen (``GEOVIGIE_CLOUD_MASKER=ukis_csmask``), next to s2cloudless.

Cloud *and* cloud-shadow pixels are screened out (s2cloudless finds clouds only). It runs only on reflectance
bands (a scale on the scene) with blue, green, red and nir, at ~30 m (see
:mod:`geovigie.tools.models.csmask`); otherwise None is returned and the default chain (product QA, s2cloudless,
threshold test) decides. The method, model version and licence go to provenance through :class:`MaskMethod`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from geovigie.tools.models import BANDS_6, ModelDomainError, ModelUnavailableError, cloud_shadow
from geovigie.tools.raster import RasterData
from geovigie.tools.segment.indices import band_of, has_band
from geovigie.tools.segment.thresholds import MaskMethod

REQUIRED = ("blue", "green", "red", "nir")
L1C_MARKERS = ("cirrus", "B10")


def csmask_cloud_mask(raster: RasterData, ok: np.ndarray) -> tuple[np.ndarray, MaskMethod] | None:
    """Cloud-or-shadow mask from ukis-csmask, or None when it cannot run here (the caller falls back)."""
    if not all(has_band(raster, b) for b in REQUIRED):
        return None
    bands = {b: band_of(raster, b) for b in BANDS_6 if has_band(raster, b)}
    finite = [v[np.isfinite(v)] for v in bands.values()]
    if any(v.size == 0 for v in finite) or max(float(v.max()) for v in finite) > 2.0:
        return None  # raw counts (no reflectance scale): the networks expect reflectance 0-1
    level: Literal["l1c", "l2a"] = "l1c" if any(has_band(raster, b) for b in L1C_MARKERS) else "l2a"
    try:
        out = cloud_shadow(bands, pixel_size_m=raster.grid.pixel_size_m, level=level)
    except (ModelUnavailableError, ModelDomainError):
        return None
    mask = (out.cloud | out.shadow) & ok
    desc = (
        f"{out.card.title} {out.card.version} ({out.card.licence}), {level.upper()}, cloud + cloud shadow, run at "
        f"~{out.info['work_pixel_m']:g} m (block mean x{out.factor}) and repeated back"
    )
    extra = {"work_pixel_m": float(out.info["work_pixel_m"]), "shadow_fraction": float(out.shadow[ok].mean())
             if ok.any() else 0.0}  # fmt: skip
    return mask, MaskMethod("cloud", "ukis-csmask", None, "fixed", tuple(out.card.bands), True, desc, extra)
