"""Per-target pixel classification on a :class:`~geovigie.tools.raster.read.RasterData`: water, vegetation, built-up.

Stable API (used by ``segment``, ``landcover`` and ``detect_change``)::

    bands = bands_for("water", scene)          # band names to read, given what the scene has
    raster = read_bands(scene, bands, grid)
    mask, method = water_mask(raster)          # bool (H, W), False where invalid
    mask, method = vegetation_mask(raster, threshold=0.4)
    mask, method = built_up_mask(raster)

Every function returns ``(mask, MaskMethod)``. ``MaskMethod`` records the index, the threshold and where it came
from, the bands and whether the method is approximate, so the caller can cite it in provenance and re-use the
threshold on other tiles (``threshold=method.threshold``) for consistent results across a large AOI.

Thresholds are automatic by default: Otsu on the index histogram, accepted only when the histogram is bimodal
(a mode on each side of the threshold) and clamped to a physically sane range; otherwise a fixed literature
value (McFeeters 1996, Xu 2006, Zha 2003). The bimodality test and the rejection of far out-of-range Otsu
thresholds were designed while looking at the Sen1Floods11 ``Spain_7370579`` MNDWI histogram and the eo-learn
Slovenia scenes (see ``benchmarks/accuracy_segment.py``), so those accuracies are in-sample for these choices.

Cloud masking lives in :mod:`geovigie.tools.segment.cloud`; the band lists it needs are defined here so that
:func:`bands_for` answers for every target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import RasterData, Scene
from geovigie.tools.segment.indices import band_of as band_of
from geovigie.tools.segment.indices import has_band as has_band
from geovigie.tools.segment.indices import index_of as index_of
from geovigie.tools.segment.indices import merge_bands as merge_bands
from geovigie.tools.segment.qa_masks import qa_band
from geovigie.tools.segment.sar import sar_water_mask
from geovigie.tools.segment.thresholds import MaskMethod as MaskMethod
from geovigie.tools.segment.thresholds import ThresholdSource as ThresholdSource
from geovigie.tools.segment.thresholds import otsu_threshold as otsu_threshold

Target = Literal["water", "vegetation", "built_up", "cloud", "landcover"]
S2CLOUDLESS_BANDS: tuple[str, ...] = ("B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12")
"""Sentinel-2 L1C bands s2cloudless needs, in its order (B10 is absent from L2A products)."""

CLOUD_FALLBACK_BANDS: tuple[str, ...] = ("blue", "green", "red", "nir", "swir16")
"""Bands the threshold cloud test uses when present (needs at least green and red)."""

WATER_BOUNDS = (-0.1, 0.4)
WATER_DEFAULT = 0.0
VEGETATION_BOUNDS = (0.2, 0.5)
VEGETATION_DEFAULT = 0.3
RGB_DARK = 0.5
EXG_BOUNDS = (0.03, 0.2)
EXG_DEFAULT = 0.05
OTSU_MARGIN = 0.1
BUILT_NDBI_DEFAULT = 0.0
BUILT_NDVI_MAX = 0.2


def bands_for(target: str, scene: Scene) -> list[str]:
    """Bands to read for a target, given the bands the scene has.

    Args:
        target: water, vegetation, built_up, cloud or landcover.
        scene: The scene.

    Returns:
        Band names (common names such as ``green``, or Sentinel-2 ids for s2cloudless).

    Raises:
        ToolInputError: the scene lacks the bands any method for the target needs (names them).
    """
    rgb = ("red", "green", "blue")
    if target == "water":
        return _water_bands(scene)
    if target == "vegetation":
        for option in (("red", "nir"), rgb):
            if scene.has_bands(*option):
                return list(option)
        _raise_missing(scene, target, ["red", "nir"])
    if target == "built_up":
        need = ["swir16", "nir", "red"]
        if not scene.has_bands(*need):
            _raise_missing(scene, target, need)
        return need + (["green"] if scene.has_bands("green") else [])
    if target == "cloud":
        qa = qa_band(scene)
        if qa is not None:  # the producer's cloud and shadow classes (L2A SCL, Landsat QA_PIXEL) come first
            return [qa]
        if scene.has_bands(*S2CLOUDLESS_BANDS):
            return list(S2CLOUDLESS_BANDS)
        if scene.has_bands("green", "red"):
            return [b for b in CLOUD_FALLBACK_BANDS if scene.has_bands(b)]
        _raise_missing(scene, target, ["green", "red"])
    if target == "landcover":
        need = ["green", "red", "nir"]
        if not scene.has_bands(*need):
            _raise_missing(scene, target, need)
        return [b for b in ("blue", "green", "red", "nir", "swir16") if scene.has_bands(b)]
    raise ToolInputError(f"Unknown target {target!r}.", hint="Use water, vegetation, built_up, cloud or landcover.")


def _water_bands(scene: Scene) -> list[str]:
    for option in (("green", "swir16"), ("green", "nir"), ("red", "green", "blue")):
        if scene.has_bands(*option):
            return list(option)
    if scene.has_bands("vv"):  # radar (Sentinel-1): water is low backscatter, see tools.sar
        return ["vv", "vh"] if scene.has_bands("vh") else ["vv"]
    _raise_missing(scene, "water", ["green", "swir16 or nir"])
    return []  # unreachable: _raise_missing raises


def _raise_missing(scene: Scene, target: str, need: Sequence[str]) -> None:
    missing = [n for n in need if not any(scene.has_bands(alt) for alt in n.split(" or "))]
    raise ToolInputError(
        f"Scene {scene.id} cannot map {target}: it needs {', '.join(need)} bands "
        f"(missing: {', '.join(missing)}; it has: {', '.join(scene.band_names())}).",
        hint="Choose a multispectral scene (e.g. Sentinel-2 or Landsat) that has these bands."
        + (" A radar (SAR) scene maps only target='water'." if scene.has_bands("vv") else ""),
    )


def auto_threshold(
    values: np.ndarray, *, bounds: tuple[float, float], default: float, user: float | None = None
) -> tuple[float, ThresholdSource]:
    """Threshold for an index: the user's, else Otsu when bimodal (clamped to ``bounds``), else ``default``.

    An Otsu threshold more than 0.1 outside ``bounds`` splits two other populations (e.g. forest vs fields
    on MNDWI when there is no water): it is rejected for ``default`` rather than clamped. Callers pass the
    whole index when ``user`` is set (tiles re-use a fixed threshold): the valid values need no copy then.
    """
    if user is not None:
        return float(user), "user"
    sample = values.ravel()
    if sample.size > 2_000_000:
        sample = sample[:: sample.size // 2_000_000 + 1]
    t, bimodal = otsu_threshold(sample)
    if not bimodal or not np.isfinite(t):
        return default, "fixed_unimodal"
    if t < bounds[0] - OTSU_MARGIN or t > bounds[1] + OTSU_MARGIN:
        return default, "fixed_otsu_out_of_range"
    clamped = float(min(max(t, bounds[0]), bounds[1]))
    return round(clamped, 4), ("otsu" if clamped == t else "otsu_clamped")


def _valid(raster: RasterData, valid: np.ndarray | None) -> np.ndarray:
    # A caller's mask is used as is: pixels with NaN bands fail every comparison, so they never enter a mask
    # and Otsu ignores non-finite values; this saves recomputing raster.valid on every tile.
    return raster.valid if valid is None else valid


def water_mask(
    raster: RasterData,
    *,
    threshold: float | None = None,
    index: str | None = None,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, MaskMethod]:
    """Open water.

    MNDWI (green, swir16; Xu 2006) when available, else NDWI (green, nir; McFeeters 1996), water where the
    index exceeds the threshold (automatic: Otsu clamped to [-0.1, 0.4], 0.0 when unimodal). RGB-only imagery:
    dark, blue-dominant pixels (blue >= red, blue >= 0.9 green, brightness < 50 % of the scene's 98th
    percentile) — approximate, confuses shadows and dark roofs. Radar-only (VV backscatter in dB): low
    backscatter, see :func:`geovigie.tools.segment.sar.sar_water_mask` (``threshold`` is then a VV value in dB).

    Args:
        raster: Bands from ``bands_for("water", scene)``.
        threshold: Index threshold; None = automatic.
        index: Force ``mndwi`` or ``ndwi``.
        valid: Pixels to consider (e.g. valid and not cloud); the threshold is computed on them only.
            None = the raster's valid pixels. NaN pixels are never in the mask.

    Returns:
        (bool mask, method). Invalid pixels are False.

    Raises:
        ToolInputError: unsupported index or missing bands.
    """
    ok = _valid(raster, valid)
    if index not in (None, "mndwi", "ndwi"):
        raise ToolInputError(f"Index {index!r} does not map water.", hint="Use mndwi or ndwi (or leave it empty).")
    if index != "ndwi" and has_band(raster, "swir16") and has_band(raster, "green"):
        name, other = "mndwi", "swir16"
    elif index != "mndwi" and has_band(raster, "nir") and has_band(raster, "green"):
        name, other = "ndwi", "nir"
    elif index is None and all(has_band(raster, b) for b in ("red", "green", "blue")):
        return _rgb_water(raster, ok)
    elif index is None and has_band(raster, "vv"):
        return sar_water_mask(raster, threshold=threshold, valid=ok)
    else:
        raise ToolInputError(
            f"Cannot compute {index or 'a water index'}: bands read are {', '.join(raster.band_names)}.",
            hint="MNDWI needs green+swir16, NDWI needs green+nir.",
        )
    idx = index_of(raster, "green", other)
    t, source = auto_threshold(
        idx[ok] if threshold is None else idx, bounds=WATER_BOUNDS, default=WATER_DEFAULT, user=threshold
    )
    mask = ok & (idx > t)
    desc = f"{name.upper()} (green, {other}) > {t:g} ({source.replace('_', ' ')})"
    return mask, MaskMethod("water", name, t, source, ("green", other), False, desc)


def _rgb_water(raster: RasterData, ok: np.ndarray) -> tuple[np.ndarray, MaskMethod]:
    r, g, b = (band_of(raster, n) for n in ("red", "green", "blue"))
    bright = (r + g + b) / 3
    ref = float(np.nanpercentile(bright[ok], 98)) if np.isfinite(bright[ok]).any() else 1.0
    with np.errstate(invalid="ignore"):
        mask = ok & (b >= r) & (b >= 0.9 * g) & (bright < RGB_DARK * ref)
    desc = "RGB only: dark blue-dominant pixels (approximate: no NIR/SWIR band)"
    return mask, MaskMethod("water", "rgb_dark_blue", RGB_DARK, "fixed", ("red", "green", "blue"), True, desc)


def vegetation_mask(
    raster: RasterData, *, threshold: float | None = None, valid: np.ndarray | None = None
) -> tuple[np.ndarray, MaskMethod]:
    """Green vegetation.

    NDVI (nir, red) above the threshold (automatic: Otsu clamped to [0.2, 0.5], 0.3 when unimodal). RGB-only:
    excess green 2g - r - b on chromatic coordinates (Woebbecke 1995), Otsu clamped to [0.03, 0.2] —
    approximate.

    Args:
        raster: Bands from ``bands_for("vegetation", scene)``.
        threshold: Index threshold; None = automatic.
        valid: Pixels to consider (e.g. valid and not cloud); None = the raster's valid pixels.

    Returns:
        (bool mask, method). Invalid pixels are False.
    """
    ok = _valid(raster, valid)
    if has_band(raster, "nir") and has_band(raster, "red"):
        ndvi = index_of(raster, "nir", "red")
        t, source = auto_threshold(
            ndvi[ok] if threshold is None else ndvi,
            bounds=VEGETATION_BOUNDS,
            default=VEGETATION_DEFAULT,
            user=threshold,
        )
        desc = f"NDVI (nir, red) > {t:g} ({source.replace('_', ' ')})"
        return ok & (ndvi > t), MaskMethod("vegetation", "ndvi", t, source, ("nir", "red"), False, desc)
    exg = excess_green(raster)
    t, source = auto_threshold(
        exg[ok] if threshold is None else exg, bounds=EXG_BOUNDS, default=EXG_DEFAULT, user=threshold
    )
    desc = f"RGB only: excess green > {t:g} ({source.replace('_', ' ')}; approximate, no NIR band)"
    return ok & (exg > t), MaskMethod("vegetation", "excess_green", t, source, ("red", "green", "blue"), True, desc)


def excess_green(raster: RasterData) -> np.ndarray:
    """Excess green 2g - r - b on chromatic coordinates (each band divided by r + g + b)."""
    r, g, b = (band_of(raster, n) for n in ("red", "green", "blue"))
    total = r + g + b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (2 * g - r - b) / total
    out[~np.isfinite(out)] = np.nan
    return out.astype(np.float32, copy=False)


def built_up_mask(
    raster: RasterData, *, threshold: float | None = None, valid: np.ndarray | None = None
) -> tuple[np.ndarray, MaskMethod]:
    """Built-up surfaces (and bare soil, which NDBI cannot tell apart from buildings).

    NDBI (swir16, nir; Zha 2003) > threshold (default 0.0), NDVI < 0.2, and not water (MNDWI > 0 when
    the green band is present). Fixed thresholds: NDBI is rarely bimodal. Needs swir16, nir and red.

    Args:
        raster: Bands from ``bands_for("built_up", scene)``.
        threshold: NDBI threshold; None = 0.0.
        valid: Pixels to consider (e.g. valid and not cloud); None = the raster's valid pixels.

    Returns:
        (bool mask, method). Invalid pixels are False.

    Raises:
        ToolInputError: a needed band (swir16, nir, red) is missing.
    """
    missing = [b for b in ("swir16", "nir", "red") if not has_band(raster, b)]
    if missing:
        raise ToolInputError(
            f"Built-up mapping needs swir16, nir and red bands; missing: {', '.join(missing)}.",
            hint="Use a multispectral scene with SWIR (Sentinel-2, Landsat); RGB imagery cannot map built-up.",
        )
    ok = _valid(raster, valid)
    ndbi = index_of(raster, "swir16", "nir")
    ndvi = index_of(raster, "nir", "red")
    t = BUILT_NDBI_DEFAULT if threshold is None else float(threshold)
    mask = ok & (ndbi > t) & (ndvi < BUILT_NDVI_MAX)
    bands: tuple[str, ...] = ("swir16", "nir", "red")
    if has_band(raster, "green"):
        mask &= ~(index_of(raster, "green", "swir16") > WATER_DEFAULT)
        bands += ("green",)
    desc = f"NDBI > {t:g}, NDVI < {BUILT_NDVI_MAX:g}, not water (MNDWI > 0); includes bare soil"
    source: ThresholdSource = "fixed" if threshold is None else "user"
    return mask, MaskMethod("built_up", "ndbi", t, source, bands, False, desc, {"ndvi_max": BUILT_NDVI_MAX})
