# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Offline ship/boat detector for RGB imagery: bright hulls surrounded by dark, smooth water.

Method (sizes in metres, turned into pixels from the pixel size; pixel floors keep it stable at 5-10 m):

1. water = brightness smoothed over 2 m below its Otsu threshold, with low texture (std in a 3 m window
   < 0.05), in patches of at least 30 x 30 m; none when the dark side is not clearly darker (by 0.08) than
   the rest;
2. ship zone = what the water encloses: holes of the water mask plus its closing by a 20 m disk (boats
   moored along piers and quays are "bays" of the water), minus the water itself;
3. hulls = pixels of the ship zone whose smoothed whiteness (min of R, G, B: white decks are bright in every
   band, brown piers and green vegetation are not) exceeds the Otsu threshold of zone + water;
4. touching hulls are split by a watershed of their distance transform seeded at its h-maxima
   (h = 0.2 m): one seed per hull however long, so rafted boats separate at their waists;
5. pieces under 6 m² are dropped.

Parameters were set on DOTA P0706 (a marina at 0.26 m), the only labelled ship image here, so there is no
held-out estimate. Limits: boats on land (trailers, dry docks) are missed; dark hulls are missed; dark smooth
surfaces (asphalt, shadows) next to bright objects can pass for water.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology, segmentation

from geovigie.tools.count.detection import CLASS_SPECS, Detection, local_std, otsu, region_detections, to_unit_rgb


@dataclass(frozen=True)
class ShipDetector:
    """Classical ship detector (see the module docstring)."""

    name: str = "ships: bright hulls enclosed by water + distance watershed"
    classes: tuple[str, ...] = ("ship",)
    water_smooth_m: float = 2.0
    texture_window_m: float = 3.0
    water_max_texture: float = 0.05
    min_water_side_m: float = 30.0
    min_water_contrast: float = 0.08
    """Land minus water mean brightness: below it the Otsu split is not water against land."""
    enclose_m: float = 20.0
    enclose_min_px: int = 8
    hull_smooth_m: float = 0.3
    split_h_m: float = 0.2
    distance_smooth_m: float = 0.5
    min_area_m2: float = 6.0
    min_area_px: int = 3

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Physical parameters and their pixel equivalents at this pixel size."""
        px = pixel_size_m or CLASS_SPECS["ship"].nominal_pixel_m
        return {
            "water_smooth_m": self.water_smooth_m,
            "water_max_texture": self.water_max_texture,
            "min_water_side_m": self.min_water_side_m,
            "enclose_radius_px": self._enclose_px(px),
            "split_h_px": round(self._h_px(px), 3),
            "min_area_px": round(self._min_area_px(px), 1),
        }

    def _enclose_px(self, px: float) -> int:
        return max(self.enclose_min_px, round(self.enclose_m / px))

    def _h_px(self, px: float) -> float:
        return max(0.3, self.split_h_m / px)

    def _min_area_px(self, px: float) -> float:
        return max(float(self.min_area_px), self.min_area_m2 / px / px)

    def water(self, light: np.ndarray, px: float) -> np.ndarray:
        """Open water: dark and smooth, in large patches."""
        smooth = ndi.gaussian_filter(light, self.water_smooth_m / px)
        texture = local_std(light, round(self.texture_window_m / px))
        dark = smooth < otsu(smooth, 0.0)
        if not dark.any() or dark.all() or float(smooth[~dark].mean() - smooth[dark].mean()) < self.min_water_contrast:
            return np.zeros_like(dark)
        mask = dark & (texture < self.water_max_texture)
        return morphology.remove_small_objects(mask, max_size=int((self.min_water_side_m / px) ** 2))

    def ship_zone(self, water: np.ndarray, px: float) -> np.ndarray:
        """Pixels enclosed by water (holes, bays narrower than the closing disk), water excluded."""
        radius = self._enclose_px(px)
        # The closing runs on a coarser copy: a 20 m disk at 0.25 m would be 160 px wide.
        factor = max(1, radius // 10)
        coarse = water[factor // 2 :: factor, factor // 2 :: factor]
        r = max(1, radius // factor)
        padded = np.pad(coarse, r + 1)
        closed = ndi.binary_closing(padded, structure=morphology.disk(r))[r + 1 : -(r + 1), r + 1 : -(r + 1)]
        closed = ndi.binary_fill_holes(closed | coarse)
        full = np.repeat(np.repeat(closed, factor, axis=0), factor, axis=1)
        full = np.pad(full, ((0, max(0, water.shape[0] - full.shape[0])), (0, max(0, water.shape[1] - full.shape[1]))))
        return full[: water.shape[0], : water.shape[1]] & ~water

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Ships and boats on water in an RGB image."""
        px = pixel_size_m or CLASS_SPECS["ship"].nominal_pixel_m
        rgb01 = to_unit_rgb(rgb)
        water = self.water(rgb01.mean(axis=-1), px)
        if not water.any():
            return []
        zone = self.ship_zone(water, px)
        white = ndi.gaussian_filter(rgb01.min(axis=-1), max(0.5, self.hull_smooth_m / px))
        hulls = zone & (white > otsu(white[zone | water], 1.0))
        hulls = ndi.binary_opening(hulls, structure=morphology.disk(1))
        if not hulls.any():
            return []
        dist = ndi.gaussian_filter(ndi.distance_transform_edt(hulls), max(0.5, self.distance_smooth_m / px))
        markers, _ = ndi.label(morphology.h_maxima(dist, self._h_px(px)))
        pieces = segmentation.watershed(-dist, markers, mask=hulls)
        sizes = np.bincount(pieces.ravel())
        pieces[np.isin(pieces, np.flatnonzero(sizes < self._min_area_px(px)))] = 0
        return region_detections(pieces, "ship", score=0.5)
