"""Cloud masks: the product's SCL / QA_PIXEL first, s2cloudless on Sentinel-2 L1C, a threshold test otherwise.

Stable API (used by ``segment``, ``landcover`` and ``detect_change``)::

    raster = read_bands(scene, bands_for("cloud", scene), grid)
    mask, method = cloud_mask(raster)       # bool (H, W); method.index is "s2cloudless" or "cloud_thresholds"

**s2cloudless** (Sentinel Hub's LightGBM pixel classifier, model shipped in the wheel, runs offline) needs the
ten L1C bands B01, B02, B04, B05, B08, B8A, B09, B10, B11, B12 as TOA reflectance 0-1 (raster values are
already multiplied by ``scene.scale``). It runs on a ~60 m grid (block mean of the 10 m bands; B01/B09/B10 are
60 m anyway), which makes it ~36x cheaper at 10 m, with probability > 0.4, a 2-pixel averaging disk and a
1-pixel dilation at 60 m; the mask is then repeated back to the input grid.

**Threshold fallback** (L2A without B10, Landsat, 4-band products) on reflectance: bright (mean visible
> 0.25), white (Fmask whiteness < 0.7, Zhu & Woodcock 2012), hazy (HOT = blue - 0.5 red - 0.08 > 0,
Zhang 2002, when blue exists), not vegetation (NDVI < 0.4, when nir exists) and not snow (NDSI < 0.4, when
swir16 exists), evaluated on a ~40 m lattice (every 4th pixel at 10 m) and repeated back. For 8-bit imagery
(no reflectance scale) only near-saturated grey pixels are called cloud (mean visible > 0.8 of full scale,
whiteness < 0.15). Both are approximate: bright roofs, sand and snow can be confused with cloud, thin cirrus
is missed.
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import RasterData
from geovigie.tools.segment.csmask_screen import csmask_cloud_mask
from geovigie.tools.segment.indices import normalised_difference
from geovigie.tools.segment.masks import S2CLOUDLESS_BANDS, MaskMethod, ThresholdSource, band_of, has_band
from geovigie.tools.segment.qa_masks import qa_cloud_mask

if TYPE_CHECKING:
    from s2cloudless.cloud_detector import S2PixelCloudDetector

S2C_THRESHOLD = 0.4
S2C_GRID_M = 60.0
S2C_AVERAGE_OVER = 2
S2C_DILATION = 1
BRIGHT_REFLECTANCE = 0.25
BRIGHT_8BIT = 0.8
FALLBACK_GRID_M = 40.0


_PREDICT_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _detector() -> S2PixelCloudDetector:
    # Imported here: s2cloudless pulls in LightGBM and OpenCV (~1 s), only needed for L1C scenes.
    from s2cloudless.cloud_detector import S2PixelCloudDetector

    return S2PixelCloudDetector(
        threshold=S2C_THRESHOLD, average_over=S2C_AVERAGE_OVER, dilation_size=S2C_DILATION, all_bands=False
    )


def can_use_s2cloudless(raster: RasterData) -> bool:
    """True when every s2cloudless band was read and the values are reflectance."""
    return raster.scene.scale is not None and all(has_band(raster, b) for b in S2CLOUDLESS_BANDS)


def _block_factor(raster: RasterData) -> int:
    size = raster.grid.pixel_size_m
    if size is None or size <= 0:
        return 1
    return max(1, int(round(S2C_GRID_M / size)))


def _block_mean(stack: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) -> (ceil(H/f), ceil(W/f), C) mean over f x f blocks, ignoring NaN (edge-padded)."""
    if factor == 1:
        return stack
    h, w, c = stack.shape
    ph, pw = (-h) % factor, (-w) % factor
    padded = np.pad(stack, ((0, ph), (0, pw), (0, 0)), mode="edge")
    blocks = padded.reshape((h + ph) // factor, factor, (w + pw) // factor, factor, c)
    with warnings.catch_warnings():
        # All-NaN blocks (nodata) give NaN, filled with 0 by the caller.
        warnings.simplefilter("ignore", RuntimeWarning)
        out: np.ndarray = np.nanmean(blocks, axis=(1, 3))
    return out


def cloud_probability(raster: RasterData) -> np.ndarray:
    """s2cloudless cloud probability (0-1) on the raster's grid, computed at ~60 m and repeated back.

    Raises:
        ToolInputError: the s2cloudless bands were not read.
    """
    if not can_use_s2cloudless(raster):
        raise ToolInputError(
            "s2cloudless needs Sentinel-2 L1C reflectance bands " + ", ".join(S2CLOUDLESS_BANDS) + ".",
            hint="Use cloud_mask(), which falls back to threshold tests for other sensors.",
        )
    prob, factor = _small_probability(raster)
    return _repeat_back(prob[0], factor, raster.data.shape[1:])


def _small_probability(raster: RasterData) -> tuple[np.ndarray, int]:
    stack = np.stack([band_of(raster, b) for b in S2CLOUDLESS_BANDS], axis=-1)
    factor = _block_factor(raster)
    small = np.nan_to_num(_block_mean(stack, factor), nan=0.0).astype(np.float32)
    with _PREDICT_LOCK:  # tiles may run in threads; LightGBM parallelises one prediction itself
        prob: np.ndarray = _detector().get_cloud_probability_maps(small[np.newaxis])
    return prob, factor


def _repeat_back(small: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    if factor == 1:
        return small
    # Columns first: the second repeat then copies whole rows (2x faster than rows first).
    big = np.repeat(small, factor, axis=1).repeat(factor, axis=0)
    return big[: shape[0], : shape[1]]


def cloud_mask(
    raster: RasterData,
    *,
    threshold: float | None = None,
    valid: np.ndarray | None = None,
    masker: Literal["default", "ukis_csmask"] = "default",
) -> tuple[np.ndarray, MaskMethod]:
    """Cloud pixels: s2cloudless when its L1C bands are present, else the threshold fallback.

    Args:
        raster: Bands from ``bands_for("cloud", scene)``.
        threshold: s2cloudless probability (default 0.4) or, for the fallback, mean visible reflectance
            (default 0.25; 0.8 of full scale for 8-bit imagery).
        valid: Pixels to consider (default: the raster's valid pixels); NaN pixels are never cloud.
        masker: ``ukis_csmask`` tries the optional cloud + shadow U-Nets first (at ~30 m, reflectance with
            blue/green/red/nir); when they cannot run, the default chain decides.

    Returns:
        (bool mask, method). Invalid pixels are False. ``method.approximate`` is True for the fallback.

    Raises:
        ToolInputError: neither method is possible (needs at least green and red).
    """
    ok = raster.valid if valid is None else valid
    if masker == "ukis_csmask" and (screened := csmask_cloud_mask(raster, ok)) is not None:
        return screened
    from_qa = qa_cloud_mask(raster, ok)
    if from_qa is not None:
        return from_qa
    if can_use_s2cloudless(raster):
        return _s2cloudless_mask(raster, ok, threshold)
    if not (has_band(raster, "green") and has_band(raster, "red")):
        raise ToolInputError(
            f"Cloud screening needs at least green and red bands (read: {', '.join(raster.band_names)}).",
            hint="Read the bands given by tools.masks.bands_for('cloud', scene).",
        )
    return _threshold_mask(raster, ok, threshold)


def _s2cloudless_mask(raster: RasterData, ok: np.ndarray, threshold: float | None) -> tuple[np.ndarray, MaskMethod]:
    prob, factor = _small_probability(raster)
    t = S2C_THRESHOLD if threshold is None else float(threshold)
    small_mask = _detector().get_mask_from_prob(prob, threshold=t)[0].astype(bool)
    mask = _repeat_back(small_mask, factor, raster.data.shape[1:]) & ok
    grid_m = (raster.grid.pixel_size_m or 0) * factor
    desc = (
        f"s2cloudless 1.7 (LightGBM, Sentinel Hub) probability > {t:g} at ~{grid_m:.0f} m, "
        f"averaging disk {S2C_AVERAGE_OVER}, dilation {S2C_DILATION}"
    )
    extra = {"grid_m": grid_m, "average_over": float(S2C_AVERAGE_OVER), "dilation": float(S2C_DILATION)}
    source: ThresholdSource = "fixed" if threshold is None else "user"
    return mask, MaskMethod("cloud", "s2cloudless", t, source, S2CLOUDLESS_BANDS, False, desc, extra)


def _threshold_mask(raster: RasterData, ok: np.ndarray, threshold: float | None) -> tuple[np.ndarray, MaskMethod]:
    # Clouds span hundreds of metres: testing every pixel of a ~40 m lattice and repeating the answer costs
    # 1/16 of a full-resolution test at 10 m (Fmask itself works at 30 m).
    factor = max(1, int(round(FALLBACK_GRID_M / (raster.grid.pixel_size_m or FALLBACK_GRID_M))))

    def get(name: str) -> np.ndarray:
        return band_of(raster, name)[::factor, ::factor]

    reflectance = raster.scene.scale is not None
    vis_names = [b for b in ("blue", "green", "red") if has_band(raster, b)]
    vis_bands = [get(b) for b in vis_names]
    full_scale = 1.0
    if not reflectance:
        peak = float(np.nanmax(vis_bands)) if np.isfinite(vis_bands).any() else 255.0
        full_scale = 255.0 if peak <= 255 else max(peak, 1.0)
    vis_bands = [b / full_scale for b in vis_bands]
    vis = sum(vis_bands[1:], vis_bands[0]) / len(vis_bands)
    with np.errstate(divide="ignore", invalid="ignore"):
        whiteness = sum((np.abs(b - vis) for b in vis_bands[1:]), np.abs(vis_bands[0] - vis)) / (len(vis_bands) * vis)
    default = BRIGHT_REFLECTANCE if reflectance else BRIGHT_8BIT
    t = default if threshold is None else float(threshold)
    used = vis_names.copy()
    with np.errstate(invalid="ignore"):
        small = (vis > t) & (whiteness < (0.7 if reflectance else 0.15))
        if reflectance and has_band(raster, "blue"):
            small &= get("blue") - 0.5 * get("red") - 0.08 > 0
        if reflectance and has_band(raster, "nir"):
            small &= normalised_difference(get("nir"), get("red")) < 0.4
            used.append("nir")
        if reflectance and has_band(raster, "swir16"):
            small &= ~(normalised_difference(get("green"), get("swir16")) > 0.4)
            used.append("swir16")
    mask = _repeat_back(small, factor, raster.data.shape[1:]) & ok
    tests = "bright, white, HOT > 0, NDVI < 0.4, NDSI < 0.4" if reflectance else "near-saturated grey"
    grid_m = (raster.grid.pixel_size_m or 0) * factor
    at = f" on a ~{grid_m:.0f} m lattice" if factor > 1 else ""
    desc = f"threshold cloud test ({tests}; mean visible > {t:g}){at} — approximate, s2cloudless bands unavailable"
    source: ThresholdSource = "fixed" if threshold is None else "user"
    return mask, MaskMethod("cloud", "cloud_thresholds", t, source, tuple(used), True, desc, {"grid_m": grid_m})
