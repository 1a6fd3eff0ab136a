# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Counting mask components for ``count_objects``: water bodies and (vegetated) fields.

* water bodies: the water mask of :mod:`geovigie.tools.segment.masks` (MNDWI, else NDWI, else dark blue-dominant RGB
pixels),
  opened by a 2 m disk when that is at least one pixel, then 8-connected components of at least 100 m²
  (16 px when the pixel size is unknown);
* fields: the vegetation mask of :mod:`geovigie.tools.segment.masks` (NDVI, else excess green) cut into parcels by a
  Felzenszwalb graph segmentation of the index (adjacent fields of different crops separate; two fields
  of the same crop with no visible boundary stay one), then components of at least 0.5 ha with solidity
  >= 0.6. Forest stands and large lawns are vegetation too and count as fields: approximate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage import measure, morphology, segmentation

from geovigie.tools.raster import RasterData
from geovigie.tools.segment import band_of, has_band, vegetation_mask, water_mask

MIN_WATER_M2 = 100.0
MIN_FIELD_M2 = 5000.0
MIN_PX_UNKNOWN_SIZE = 16
FIELD_MIN_SOLIDITY = 0.6
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass
class RegionCount:
    """Components of a mask: labels (0 = background), count, and how they were made."""

    labels: np.ndarray
    count: int
    method: str
    approximate: bool
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def mask(self) -> np.ndarray:
        """Pixels of the counted components."""
        return self.labels > 0


def _min_pixels(min_m2: float, pixel_size_m: float | None) -> int:
    if pixel_size_m is None:
        return MIN_PX_UNKNOWN_SIZE
    return max(4, int(np.ceil(min_m2 / pixel_size_m**2)))


def _relabel(labels: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels with only ``keep`` (bool per label) kept, renumbered 1..n."""
    keep = keep.copy()
    keep[0] = False
    new_ids = np.zeros(keep.size, dtype=np.int32)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1)
    return new_ids[labels], int(keep.sum())


def count_water_bodies(raster: RasterData, pixel_size_m: float | None) -> RegionCount:
    """Connected water bodies in a raster read with ``bands_for("water", scene)``."""
    mask, method = water_mask(raster)
    radius = round(2.0 / pixel_size_m) if pixel_size_m else 1
    if radius >= 1:
        mask = ndi.binary_opening(mask, structure=morphology.disk(radius))
    labels, n = ndi.label(mask, structure=_EIGHT)
    min_px = _min_pixels(MIN_WATER_M2, pixel_size_m)
    labels, count = _relabel(labels, np.bincount(labels.ravel(), minlength=n + 1) >= min_px)
    params = {"mask": method.as_dict(), "opening_radius_px": radius, "min_pixels": min_px, "connectivity": 8}
    return RegionCount(labels, count, f"water components: {method.description}", method.approximate, params)


def _index_image(raster: RasterData) -> np.ndarray:
    if has_band(raster, "nir") and has_band(raster, "red"):
        nir, red = band_of(raster, "nir"), band_of(raster, "red")
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (nir - red) / (nir + red)
    else:
        r, g, b = (band_of(raster, n) for n in ("red", "green", "blue"))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (2 * g - r - b) / (r + g + b)
    return np.nan_to_num(out.astype(np.float32), nan=0.0)


def count_fields(raster: RasterData, pixel_size_m: float | None) -> RegionCount:
    """Vegetated parcels in a raster read with ``bands_for("vegetation", scene)``."""
    vegetation, method = vegetation_mask(raster)
    min_px = _min_pixels(MIN_FIELD_M2, pixel_size_m)
    index = _index_image(raster)
    # On a [-1, 1] index, scale 200 with 1.5 px smoothing joins the pixels of one crop into one region, while
    # neighbouring parcels stay apart when their index differs clearly (checked visually on the NAIP 5 m pair).
    parcels = segmentation.felzenszwalb(index, scale=200.0, sigma=1.5, min_size=max(4, min_px // 2), channel_axis=None)
    pieces = measure.label((parcels + 1) * vegetation, connectivity=1, background=0)
    keep = np.zeros(int(pieces.max()) + 1, dtype=bool)
    for region in measure.regionprops(pieces):
        keep[region.label] = region.area >= min_px and region.solidity >= FIELD_MIN_SOLIDITY
    labels, count = _relabel(pieces, keep)
    params = {
        "vegetation": method.as_dict(),
        "segmentation": "felzenszwalb(scale=200, sigma=1.5) on the index",
        "min_pixels": min_px,
        "min_solidity": FIELD_MIN_SOLIDITY,
    }
    return RegionCount(labels, count, f"vegetated parcels: {method.description}", True, params)
