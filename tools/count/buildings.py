# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Offline building detector for RGB or panchromatic imagery at 0.1-2.5 m: smooth rectangular roof patches.

Method (sizes in metres, turned into pixels from the pixel size):

1. brightness stretched to its 1-99 percentiles (pan or RGB alike);
2. roof candidates = low texture (std in a 1.5 m window < 0.05: roofs are smooth, tree crowns are not),
   opened by a 2 m disk (drops thin roads and strips), minus strong edges (Sobel of the 0.5 m smoothed
   brightness > 0.05) so that a roof separates from its yard;
3. each patch must look like a roof: 50-1500 m², solidity >= 0.85, and fill >= 70 % of its minimum rotated
   rectangle.

Parameters were set on the SpaceNet Atlanta 0.5 m pan sample, the only labelled building image here.
Measured there: count close to the truth but detection F1 only 0.28, so the count is not reliable; lawns,
parking lots and smooth shadows pass as roofs and houses under trees are missed. Use a trained checkpoint
(``detector_path``) for building counts that matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from shapely.geometry import MultiPoint
from skimage import filters, measure, morphology

from geovigie.tools.count.detection import CLASS_SPECS, Detection, brightness, local_std, to_unit_rgb


@dataclass(frozen=True)
class BuildingDetector:
    """Classical building detector (see the module docstring)."""

    name: str = "buildings: smooth rectangular roof patches"
    classes: tuple[str, ...] = ("building",)
    texture_window_m: float = 1.5
    max_texture: float = 0.05
    opening_m: float = 2.0
    edge_smooth_m: float = 0.5
    max_edge: float = 0.05
    area_m2: tuple[float, float] = (50.0, 1500.0)
    min_solidity: float = 0.85
    min_rectangularity: float = 0.7

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Physical parameters and their pixel equivalents at this pixel size."""
        px = pixel_size_m or CLASS_SPECS["building"].nominal_pixel_m
        return {
            "texture_window_px": max(3, int(self.texture_window_m / px)),
            "max_texture": self.max_texture,
            "opening_radius_px": max(1, int(self.opening_m / px)),
            "max_edge": self.max_edge,
            "area_m2": list(self.area_m2),
            "min_solidity": self.min_solidity,
            "min_rectangularity": self.min_rectangularity,
        }

    def candidates(self, light: np.ndarray, px: float) -> np.ndarray:
        """Smooth patches separated by edges."""
        smooth = local_std(light, int(self.texture_window_m / px)) < self.max_texture
        smooth = ndi.binary_opening(smooth, structure=morphology.disk(max(1, int(self.opening_m / px))))
        edges = filters.sobel(ndi.gaussian_filter(light, self.edge_smooth_m / px)) > self.max_edge
        return ndi.binary_opening(smooth & ~edges, structure=morphology.disk(1))

    def _is_roof(self, region: Any, px: float) -> bool:
        area = region.area * px * px
        if not self.area_m2[0] <= area <= self.area_m2[1] or region.solidity < self.min_solidity:
            return False
        rectangle = MultiPoint(region.coords[:, ::-1].astype(float)).convex_hull.minimum_rotated_rectangle
        return bool(region.area / max(rectangle.area, 1.0) >= self.min_rectangularity)

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Building roofs in an RGB or grey image."""
        px = pixel_size_m or CLASS_SPECS["building"].nominal_pixel_m
        light = brightness(to_unit_rgb(rgb))
        lo, hi = np.percentile(light, [1, 99])
        light = np.clip((light - lo) / max(float(hi - lo), 1e-6), 0, 1).astype(np.float32)
        labels, _ = ndi.label(self.candidates(light, px))
        out = []
        for region in measure.regionprops(labels):
            if self._is_roof(region, px):
                r0, c0, r1, c1 = region.bbox
                out.append(Detection(c0, r0, c1, r1, 0.5, "building"))
        return out
