# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Offline tree-crown detector for RGB imagery at 0.05-1 m: excess green, crown scale, distance watershed.

Method (all sizes in metres, turned into pixels from the pixel size):

1. work at about 0.2 m (block average of finer imagery: needles and leaves are noise at crown scale);
2. canopy = excess green (2g - r - b on chromatic coordinates) smoothed over 0.4 m, above its Otsu threshold
   (never below 0: grey ground is not canopy), opened by a 0.4 m disk, holes under 1 m² filled; no canopy at
   all when the pixels above the threshold are not green (mean < 0.02) or barely greener than the rest
   (difference < 0.04: Otsu splitting noise);
3. dominant crown diameter D of the scene = the scale (1.5-16 m) of strongest scale-normalised Laplacian of
   Gaussian response of the canopy brightness: a granulometry that lets one parameter set serve stands of
   small pines (D ~ 3-4 m) and of wide oaks (D ~ 12-16 m);
4. crowns = watershed of the canopy's distance transform, seeded at its local maxima at least 0.2 D apart and
   0.3 m inside the canopy; crowns smaller than a disk of radius 0.15 D are dropped.

Parameters were chosen on NEON OSBS_029 only, by detection F1 (not by count), and evaluated on OSBS_029,
SJER, YELL and SOAP (``benchmarks/accuracy_count.py``). Limits: dead or leafless trees (grey) are not
canopy for an excess-green mask, touching crowns of equal height merge, and green grass next to trees
can be taken for crowns when the scene's greens are not bimodal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, morphology, segmentation

from geovigie.tools.count.detection import (
    CLASS_SPECS,
    Detection,
    block_mean,
    brightness,
    excess_green,
    otsu,
    region_detections,
    to_unit_rgb,
)


@dataclass(frozen=True)
class TreeCrownDetector:
    """Classical tree-crown detector (see the module docstring)."""

    name: str = "tree crowns: excess-green canopy + crown-scale distance watershed"
    classes: tuple[str, ...] = ("tree",)
    work_pixel_m: float = 0.2
    smooth_m: float = 0.4
    opening_m: float = 0.4
    hole_m2: float = 1.0
    min_exg_threshold: float = 0.0
    min_canopy_exg: float = 0.02
    """Mean excess green the canopy must reach: below it nothing in the scene is green enough to be foliage."""
    min_separation: float = 0.04
    """Canopy minus background mean excess green: below it the Otsu split is cutting noise, not canopy."""
    crown_diameters_m: tuple[float, ...] = (1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
    seed_spacing: float = 0.2
    """Seeds at least this fraction of the dominant crown diameter apart."""
    seed_depth_m: float = 0.3
    distance_smooth_m: float = 0.3
    min_crown_radius: float = 0.15
    """Smallest crown radius as a fraction of the dominant crown diameter."""

    def _factor(self, pixel_size_m: float) -> int:
        return max(1, round(self.work_pixel_m / pixel_size_m))

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Physical parameters and the working pixel size they are applied at."""
        px = pixel_size_m or CLASS_SPECS["tree"].nominal_pixel_m
        return {
            "work_pixel_m": round(px * self._factor(px), 4),
            "smooth_m": self.smooth_m,
            "opening_m": self.opening_m,
            "crown_diameters_m": list(self.crown_diameters_m),
            "seed_spacing_x_crown": self.seed_spacing,
            "seed_depth_m": self.seed_depth_m,
            "min_crown_radius_x_crown": self.min_crown_radius,
        }

    def canopy(self, rgb01: np.ndarray, p: float) -> tuple[np.ndarray, float]:
        """Canopy mask at working resolution ``p`` and the excess-green threshold used."""
        exg = ndi.gaussian_filter(excess_green(rgb01), self.smooth_m / p)
        threshold = max(otsu(exg, self.min_exg_threshold), self.min_exg_threshold)
        mask = exg > threshold
        if not mask.any() or mask.all():
            return np.zeros_like(mask), threshold
        inside = float(exg[mask].mean())
        if inside < self.min_canopy_exg or inside - float(exg[~mask].mean()) < self.min_separation:
            return np.zeros_like(mask), threshold
        radius = max(1, int(self.opening_m / p))
        mask = ndi.binary_opening(mask, structure=morphology.disk(radius))
        mask = morphology.remove_small_holes(mask, max_size=int(self.hole_m2 / p / p))
        return mask, threshold

    def crown_scale(self, light: np.ndarray, canopy: np.ndarray, p: float) -> float:
        """Dominant crown diameter (m): the scale of strongest normalised LoG response of canopy brightness."""
        if not canopy.any():
            return self.crown_diameters_m[0]
        signal = light * canopy
        energies = []
        for diameter in self.crown_diameters_m:
            sigma = diameter / (2 * math.sqrt(2)) / p
            response = -(sigma**2) * ndi.gaussian_laplace(signal, sigma)
            energies.append(float(np.maximum(response, 0)[canopy].mean()))
        return self.crown_diameters_m[int(np.argmax(energies))]

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Tree crowns in an RGB image."""
        px = pixel_size_m or CLASS_SPECS["tree"].nominal_pixel_m
        factor = self._factor(px)
        p = px * factor
        rgb01 = to_unit_rgb(rgb)
        small = np.stack([block_mean(rgb01[..., i], factor) for i in range(3)], axis=-1)
        canopy, _ = self.canopy(small, p)
        if not canopy.any():
            return []
        diameter = self.crown_scale(brightness(small), canopy, p)
        dist = ndi.gaussian_filter(ndi.distance_transform_edt(canopy), self.distance_smooth_m / p)
        peaks = feature.peak_local_max(
            dist,
            min_distance=max(1, int(self.seed_spacing * diameter / p)),
            threshold_abs=self.seed_depth_m / p,
            labels=canopy.astype(np.int32),
            exclude_border=False,
        )
        if len(peaks) == 0:
            return []
        markers = np.zeros(dist.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        crowns = segmentation.watershed(-dist, markers, mask=canopy)
        min_area = math.pi * (self.min_crown_radius * diameter / p) ** 2
        sizes = np.bincount(crowns.ravel())
        small_ids = np.flatnonzero(sizes < min_area)
        crowns[np.isin(crowns, small_ids)] = 0
        return region_detections(crowns, "tree", scale=factor, score=0.5)
