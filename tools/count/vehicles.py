# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Offline vehicle detector for RGB or panchromatic imagery at 0.1-1 m: car-sized bright and dark blobs.

Method (sizes in metres, turned into pixels from the pixel size):

1. brightness lightly smoothed (0.5 px); white and black top-hats with a disk 4 m across: they keep
   anything narrower than 4 m (cars are 1.8 m wide, buses and trucks 2.5 m) and drop buildings, roads and
   lawns, whatever their brightness;
2. bright candidates = white top-hat above max(median + 3 MAD, 0.08); dark candidates likewise on the
   black top-hat; vegetation (excess green smoothed over 1 m > 0.05) is excluded; a 0.4 m opening removes
   painted lines and kerbs;
3. each candidate must have a vehicle's shape: area 2.5-60 m², length 2.5-20 m, width 1.2-4 m,
   solidity >= 0.8;
4. dark candidates within 1.5 m of a bright candidate (any shape) are its shadow and are dropped.

Parameters were set on DOTA P1888 (school-bus depot and car park at 0.27 m), the only labelled vehicle image
here: there is no held-out estimate. Limits: vehicles packed bumper to bumper merge or are rejected as too
long; dark cars next to light ones are taken for shadows; boats, containers and roof equipment of
car size are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage as ndi
from skimage import measure, morphology

from geovigie.tools.count.detection import CLASS_SPECS, Detection, brightness, excess_green, to_unit_rgb


def _robust_threshold(values: np.ndarray, k: float, floor: float) -> float:
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    return max(med + k * mad, floor)


@dataclass(frozen=True)
class VehicleDetector:
    """Classical vehicle detector (see the module docstring)."""

    name: str = "vehicles: 4 m top-hats + vehicle shape filter"
    classes: tuple[str, ...] = ("vehicle",)
    tophat_m: float = 4.0
    mad_k: float = 3.0
    min_contrast: float = 0.08
    vegetation_exg: float = 0.05
    opening_m: float = 0.4
    area_m2: tuple[float, float] = (2.5, 60.0)
    length_m: tuple[float, float] = (2.5, 20.0)
    width_m: tuple[float, float] = (1.2, 4.0)
    min_solidity: float = 0.8
    shadow_m: float = 1.5

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Physical parameters and their pixel equivalents at this pixel size."""
        px = pixel_size_m or CLASS_SPECS["vehicle"].nominal_pixel_m
        return {
            "tophat_diameter_m": self.tophat_m,
            "tophat_radius_px": self._radius(self.tophat_m / 2, px),
            "contrast": f"max(median + {self.mad_k} MAD, {self.min_contrast})",
            "area_m2": list(self.area_m2),
            "length_m": list(self.length_m),
            "width_m": list(self.width_m),
            "min_solidity": self.min_solidity,
            "shadow_m": self.shadow_m,
        }

    @staticmethod
    def _radius(metres: float, px: float) -> int:
        return max(1, round(metres / px))

    def _shaped(self, mask: np.ndarray, px: float) -> np.ndarray:
        """Labels of the components that have a vehicle's size and shape (others set to 0)."""
        labels, _ = ndi.label(mask)
        keep = np.zeros(labels.max() + 1, dtype=bool)
        for region in measure.regionprops(labels):
            area = region.area * px * px
            length = region.axis_major_length * px
            width = region.axis_minor_length * px
            ok = (
                self.area_m2[0] <= area <= self.area_m2[1]
                and self.length_m[0] <= length <= self.length_m[1]
                and self.width_m[0] <= width <= self.width_m[1]
                and region.solidity >= self.min_solidity
            )
            keep[region.label] = ok
        return np.where(keep[labels], labels, 0)

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Cars, vans, buses and trucks in an RGB or grey image."""
        px = pixel_size_m or CLASS_SPECS["vehicle"].nominal_pixel_m
        rgb01 = to_unit_rgb(rgb)
        light = ndi.gaussian_filter(brightness(rgb01), 0.5)
        disk = morphology.disk(self._radius(self.tophat_m / 2, px))
        white = light - ndi.grey_opening(light, footprint=disk)
        black = ndi.grey_closing(light, footprint=disk) - light
        vegetation = ndi.gaussian_filter(excess_green(rgb01), 1.0 / px) > self.vegetation_exg
        opening = morphology.disk(self._radius(self.opening_m, px))
        bright = ndi.binary_opening(
            (white > _robust_threshold(white, self.mad_k, self.min_contrast)) & ~vegetation, structure=opening
        )
        dark = ndi.binary_opening(
            (black > _robust_threshold(black, self.mad_k, self.min_contrast)) & ~vegetation, structure=opening
        )
        bright_labels = self._shaped(bright, px)
        dark_labels = self._shaped(dark, px)
        # Any bright object casts a shadow (buses, but also walls and roof edges), not only vehicle-shaped ones.
        near = ndi.binary_dilation(bright, iterations=self._radius(self.shadow_m, px))
        out = _boxes(bright_labels, None)
        out += _boxes(dark_labels, near)
        return out


def _boxes(labels: np.ndarray, exclude: np.ndarray | None) -> list[Detection]:
    """Boxes of labelled components, skipping those mostly (> 20 %) inside ``exclude``."""
    out = []
    for region in measure.regionprops(labels):
        if exclude is not None:
            rows, cols = region.coords[:, 0], region.coords[:, 1]
            if exclude[rows, cols].mean() > 0.2:
                continue
        r0, c0, r1, c1 = region.bbox
        out.append(Detection(c0, r0, c1, r1, 0.5, "vehicle"))
    return out
