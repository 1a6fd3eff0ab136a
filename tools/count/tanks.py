# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Offline storage-tank detector: circles 10-80 m across found by a Hough transform of brightness edges.

Method (sizes in metres, turned into pixels from the pixel size):

1. work at 1 m or the native pixel if coarser (a 10 m tank is then still 10 px across);
2. Canny edges of the brightness (sigma 1.5 working pixels);
3. circular Hough transform for radii 5-40 m (about 20 radii, geometric steps); a circle is kept when at
   least 40 % of its circumference lies on edges;
4. non-maximum suppression: strongest circles first, a circle overlapping an accepted one is dropped (tanks
   cannot overlap: the inner rim, floating roof or shadow arc of one tank are that tank);
5. the disk must differ from the ring around it (|mean inside - mean outside| >= 0.04): a circle of edges
   drawn by chance across texture does not.

No labelled tank imagery is available here: validated on synthetic scenes only (see the tests). Limits:
tanks touching each other share edges and may be missed or doubled; round non-tank objects (roundabouts,
circular fields, fountains) of the same size are counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from skimage import feature, transform

from geovigie.tools.count.detection import CLASS_SPECS, Detection, block_mean, brightness, to_unit_rgb

_RADII_PER_PASS = 6
_OVERLAP = 1.0
"""Circles closer than r1 + r2 overlap; real tanks cannot, so the weaker one is an artefact."""


@dataclass(frozen=True)
class StorageTankDetector:
    """Classical storage-tank detector (see the module docstring)."""

    name: str = "storage tanks: Hough circles on Canny edges + disk contrast test"
    classes: tuple[str, ...] = ("storage_tank",)
    work_pixel_m: float = 1.0
    radius_m: tuple[float, float] = (5.0, 40.0)
    min_radius_px: int = 3
    n_radii: int = 20
    canny_sigma_px: float = 1.5
    min_votes: float = 0.4
    min_contrast: float = 0.04

    def _factor(self, px: float) -> int:
        return max(1, round(self.work_pixel_m / px))

    def radii_px(self, p: float) -> np.ndarray:
        """Radii searched, in working pixels."""
        lo = max(float(self.min_radius_px), self.radius_m[0] / p)
        hi = max(lo + 1, self.radius_m[1] / p)
        return np.unique(np.round(np.geomspace(lo, hi, self.n_radii)).astype(int))

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Physical parameters and their pixel equivalents at this pixel size."""
        px = pixel_size_m or CLASS_SPECS["storage_tank"].nominal_pixel_m
        p = px * self._factor(px)
        radii = self.radii_px(p)
        return {
            "work_pixel_m": round(p, 4),
            "radius_m": list(self.radius_m),
            "radius_px": [int(radii[0]), int(radii[-1])],
            "min_votes": self.min_votes,
            "min_contrast": self.min_contrast,
        }

    def _best_circles(self, edges: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel: the highest normalised vote over all radii, and that radius (bounded memory)."""
        best = np.zeros(edges.shape, dtype=np.float64)
        best_r = np.zeros(edges.shape, dtype=np.int32)
        for start in range(0, len(radii), _RADII_PER_PASS):
            chunk = radii[start : start + _RADII_PER_PASS]
            acc = transform.hough_circle(edges, chunk, normalize=True, full_output=False)
            idx = acc.argmax(axis=0)
            top = np.take_along_axis(acc, idx[np.newaxis], axis=0)[0]
            better = top > best
            best[better] = top[better]
            best_r[better] = chunk[idx[better]]
        return best, best_r

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Storage tanks (circular roofs) in an RGB or grey image."""
        px = pixel_size_m or CLASS_SPECS["storage_tank"].nominal_pixel_m
        factor = self._factor(px)
        p = px * factor
        light = block_mean(brightness(to_unit_rgb(rgb)), factor)
        radii = self.radii_px(p)
        if min(light.shape) < 2 * radii[0] + 2:
            return []
        edges = feature.canny(light, sigma=self.canny_sigma_px)
        votes, votes_r = self._best_circles(edges, radii)
        peaks = feature.peak_local_max(
            votes, min_distance=int(radii[0]), threshold_abs=self.min_votes, exclude_border=False
        )
        order = np.argsort(-votes[tuple(peaks.T)]) if len(peaks) else np.array([], dtype=int)
        kept: list[tuple[float, float, float, float]] = []
        for row, col in peaks[order]:
            r = float(votes_r[row, col])
            if any(math.hypot(row - kr, col - kc) < _OVERLAP * (r + kr_r) for kr, kc, kr_r, _ in kept):
                continue
            if _disk_contrast(light, row, col, r) < self.min_contrast:
                continue
            kept.append((float(row), float(col), r, float(votes[row, col])))
        return [
            Detection(
                (col - r) * factor,
                (row - r) * factor,
                (col + r) * factor,
                (row + r) * factor,
                min(1.0, v),
                "storage_tank",
            )
            for row, col, r, v in kept
        ]


def _disk_contrast(light: np.ndarray, row: float, col: float, r: float) -> float:
    """|mean inside 0.8 r - mean in the ring 1.2-1.6 r| (NaN-safe, clipped at the image edge)."""
    pad = int(math.ceil(1.6 * r)) + 1
    r0, r1 = max(0, int(row) - pad), min(light.shape[0], int(row) + pad + 1)
    c0, c1 = max(0, int(col) - pad), min(light.shape[1], int(col) + pad + 1)
    yy, xx = np.mgrid[r0:r1, c0:c1]
    d = np.hypot(yy - row, xx - col)
    patch = light[r0:r1, c0:c1]
    inside = patch[d <= 0.8 * r]
    ring = patch[(d >= 1.2 * r) & (d <= 1.6 * r)]
    if inside.size == 0 or ring.size == 0:
        return 0.0
    return abs(float(inside.mean()) - float(ring.mean()))
