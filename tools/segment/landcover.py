"""Rule-based land-cover classes from spectral indices (used by ``segment`` with ``target="landcover"``).

Classes (uint8 codes in the class raster; 255 = no data):

====  ========================  =====================================================================
code  class                     rule (first match wins)
====  ========================  =====================================================================
6     cloud                     :func:`geovigie.tools.segment.cloud.cloud_mask`
1     water                     :func:`geovigie.tools.segment.masks.water_mask` (MNDWI or NDWI, automatic threshold)
2     tree cover                vegetation and NDMI = (nir - swir16)/(nir + swir16) > 0.3
                                (NDVI > 0.7 when there is no swir16 band)
3     grass / low vegetation    :func:`geovigie.tools.segment.masks.vegetation_mask` (NDVI, automatic threshold)
5     built-up                  :func:`geovigie.tools.segment.masks.built_up_mask` (NDBI > 0, NDVI < 0.2; needs swir16)
4     bare soil / sparse        everything else (includes built-up when there is no swir16 band)
====  ========================  =====================================================================

The NDMI canopy threshold 0.3 follows the usual reading of NDMI (0.2-0.4 = mid-high canopy cover, above =
dense canopy); it was checked, not fitted, against the class distributions of the eo-learn Slovenia
scene of 2015-07-11, which is also an evaluation scene: its accuracy is therefore in-sample for this one
parameter.

Comparison with eo-learn's LULC reference (:data:`TO_EOLEARN_LULC`): tree cover -> 2 forest, grass / low
vegetation -> 3 grassland, bare soil -> 1 cultivated land (bare fields in summer), built-up -> 8 artificial
surface, water -> 5 water. Shrubland (4) has no counterpart (spectrally it falls into tree cover or grass),
so its pixels always count as errors; cloud pixels are left out of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geovigie.tools.raster import RasterData
from geovigie.tools.segment.indices import index_of
from geovigie.tools.segment.masks import MaskMethod, built_up_mask, has_band, vegetation_mask, water_mask

NODATA = 255
WATER, TREE, GRASS, BARE, BUILT, CLOUD = 1, 2, 3, 4, 5, 6

CLASSES: dict[int, tuple[str, tuple[int, int, int]]] = {
    WATER: ("water", (30, 100, 220)),
    TREE: ("tree cover", (20, 110, 40)),
    GRASS: ("grass / low vegetation", (150, 210, 90)),
    BARE: ("bare soil / sparse", (205, 170, 115)),
    BUILT: ("built-up", (215, 40, 40)),
    CLOUD: ("cloud", (240, 240, 240)),
}
"""Class code -> (name, RGB colour)."""

TO_EOLEARN_LULC: dict[int, int] = {WATER: 5, TREE: 2, GRASS: 3, BARE: 1, BUILT: 8}
"""Our class code -> eo-learn LULC code (1 cultivated, 2 forest, 3 grassland, 4 shrubland, 5 water, 8 artificial)."""

TREE_NDMI = 0.3
TREE_NDVI_NO_SWIR = 0.7


@dataclass(frozen=True)
class LandcoverParams:
    """Thresholds fixed once per AOI (on a sample), then applied to every tile."""

    water: MaskMethod
    vegetation: MaskMethod
    has_swir: bool

    def describe(self) -> str:
        """One line for provenance."""
        tree = f"NDMI > {TREE_NDMI:g}" if self.has_swir else f"NDVI > {TREE_NDVI_NO_SWIR:g}"
        built = "built-up NDBI > 0 & NDVI < 0.2" if self.has_swir else "no built-up class (no swir16 band)"
        return (
            f"rules: water {self.water.description}; vegetation {self.vegetation.description}, "
            f"tree cover where {tree}; {built}; rest bare soil"
        )


def calibrate(raster: RasterData, *, valid: np.ndarray | None = None) -> LandcoverParams:
    """Choose the water and vegetation thresholds on a (sample) raster, clear pixels only."""
    _, water = water_mask(raster, valid=valid)
    _, veg = vegetation_mask(raster, valid=valid)
    return LandcoverParams(water=water, vegetation=veg, has_swir=has_band(raster, "swir16"))


def classify(raster: RasterData, params: LandcoverParams, *, cloud: np.ndarray | None = None) -> np.ndarray:
    """Class raster (uint8, codes of :data:`CLASSES`, 255 where invalid) of one tile or image.

    Args:
        raster: Bands from ``bands_for("landcover", scene)``.
        params: Thresholds from :func:`calibrate`.
        cloud: Cloud mask of the same raster, or None when cloud screening is unavailable.
    """
    valid = raster.valid
    out = np.full(valid.shape, NODATA, dtype=np.uint8)
    clear = valid & ~cloud if cloud is not None else valid
    water, _ = water_mask(raster, threshold=params.water.threshold, index=_index(params.water), valid=clear)
    land = clear & ~water
    veg, _ = vegetation_mask(raster, threshold=params.vegetation.threshold, valid=land)
    if params.has_swir:
        ndmi = index_of(raster, "nir", "swir16")
        tree = veg & (ndmi > TREE_NDMI)
        built, _ = built_up_mask(raster, valid=land & ~veg)
    else:
        ndvi = index_of(raster, "nir", "red")
        tree = veg & (ndvi > TREE_NDVI_NO_SWIR)
        built = np.zeros_like(valid)
    out[clear] = BARE
    out[built] = BUILT
    out[veg] = GRASS
    out[tree] = TREE
    out[water] = WATER
    if cloud is not None:
        out[valid & cloud] = CLOUD
    return out


def _index(method: MaskMethod) -> str | None:
    return method.index if method.index in ("mndwi", "ndwi") else None


def accuracy_vs_eolearn(classes: np.ndarray, lulc: np.ndarray) -> dict[str, float | int | None]:
    """Overall and per-class accuracy of a class raster against eo-learn's LULC (0 and cloud excluded).

    Returns:
        ``overall`` (share of compared pixels whose mapped class equals the reference), ``pixels`` compared,
        and ``recall_<lulc code>`` per reference class present (None when no pixel was compared).
    """
    mapped = np.zeros(classes.shape, dtype=np.int32)
    for ours, ref in TO_EOLEARN_LULC.items():
        mapped[classes == ours] = ref
    compare = (lulc > 0) & (classes != NODATA) & (classes != CLOUD)
    out: dict[str, float | int | None] = {"pixels": int(compare.sum())}
    out["overall"] = round(float((mapped[compare] == lulc[compare]).mean()), 4) if compare.any() else None
    for code in sorted(int(c) for c in np.unique(lulc[lulc > 0])):
        sel = compare & (lulc == code)
        out[f"recall_{code}"] = round(float((mapped[sel] == code).mean()), 4) if sel.any() else None
    return out
