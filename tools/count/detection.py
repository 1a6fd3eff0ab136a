# mypy: disable-error-code="no-untyped-call"
# (scikit-image ships py.typed but leaves most functions unannotated)
"""Object detection's shared types and helpers: the detector interface, detections and what each class needs.

A detector takes an (H, W, 3) image and the ground pixel size and returns pixel boxes. Two kinds exist:

* the offline classical methods (scikit-image / SciPy, no weights), one module per noun:
  :mod:`geovigie.tools.count.trees`, :mod:`geovigie.tools.count.ships`, :mod:`geovigie.tools.count.vehicles`,
  :mod:`geovigie.tools.count.buildings`, :mod:`geovigie.tools.count.tanks`. Every size in them is physical (metres) and
  turned into pixels from the pixel size, so no parameter is tied to one image;
* a user checkpoint (:mod:`geovigie.tools.count.checkpoint`: ultralytics YOLO ``.pt`` or DeepForest), imported lazily.

Measured accuracy of the offline methods (``benchmarks/accuracy_count.py``) is summarised in
:data:`EXPECTED_ERROR`; the tool quotes it in its notes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure

ModelOnlyClass = Literal["plane", "helicopter", "harbor", "bridge", "swimming_pool", "sports_field", "roundabout"]
"""Objects only the learned DOTA detector finds (no classical method): refused with a reason when it cannot run."""
DetectedClass = Literal[
    "tree", "ship", "vehicle", "building", "storage_tank",
    "plane", "helicopter", "harbor", "bridge", "swimming_pool", "sports_field", "roundabout",
]  # fmt: skip
MaskedClass = Literal["water_body", "field"]
CountedObject = Literal[
    "tree", "ship", "vehicle", "building", "storage_tank",
    "plane", "helicopter", "harbor", "bridge", "swimming_pool", "sports_field", "roundabout",
    "water_body", "field",
]  # fmt: skip


@dataclass(frozen=True)
class Detection:
    """One object: an axis-aligned pixel box (x right, y down), a score in [0, 1] and a label."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    score: float
    label: str
    polygon: tuple[tuple[float, float], ...] | None = None
    """Corners of an oriented box (learned detectors), in the same pixel coordinates; None for axis-aligned boxes."""

    @property
    def centre(self) -> tuple[float, float]:
        """(x, y) of the box centre in pixels."""
        return ((self.xmin + self.xmax) / 2, (self.ymin + self.ymax) / 2)

    def shifted(self, dx: float, dy: float) -> Detection:
        """The same box moved by (dx, dy) pixels (tile to image coordinates)."""
        poly = None if self.polygon is None else tuple((x + dx, y + dy) for x, y in self.polygon)
        return replace(
            self, xmin=self.xmin + dx, xmax=self.xmax + dx, ymin=self.ymin + dy, ymax=self.ymax + dy, polygon=poly
        )


class ObjectDetector(Protocol):
    """Anything that finds objects of some classes in an image."""

    @property
    def name(self) -> str:
        """Method name cited in provenance."""
        ...

    @property
    def classes(self) -> tuple[str, ...]:
        """Object classes it can find."""
        ...

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Boxes of the objects in an (H, W, 3) uint8 or float image with the given ground pixel size."""
        ...

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Parameters used at this pixel size (physical values and their pixel equivalents)."""
        ...


@dataclass(frozen=True)
class ClassSpec:
    """What a class needs from the imagery."""

    label: str
    """Plural, for sentences."""
    max_pixel_m: float | None
    """Coarsest usable pixel size (None: any resolution)."""
    size_text: str
    """Physical size, to explain a refusal."""
    max_extent_m: float
    """Largest object extent: the tile overlap must hold one whole object."""
    nominal_pixel_m: float
    """Pixel size assumed when the image gives none (said in the notes)."""
    note_above_m: float | None = None
    """Above this pixel size the count still runs, with a caveat."""


CLASS_SPECS: dict[str, ClassSpec] = {
    "tree": ClassSpec(
        "trees",
        1.0,
        "a tree crown is typically 2-15 m across, so individual crowns need pixels of 1 m or finer "
        "(aerial/drone imagery at 0.1-0.5 m works best)",
        25.0,
        0.1,
        note_above_m=0.5,
    ),
    "vehicle": ClassSpec(
        "vehicles",
        1.0,
        "a car is about 4.5 m long and 1.8 m wide, so at 10 m it is under one pixel; vehicles need pixels "
        "of 1 m or finer (0.3-0.5 m works best)",
        20.0,
        0.3,
        note_above_m=0.5,
    ),
    "building": ClassSpec(
        "buildings",
        2.5,
        "a house is about 10 m across, only a few pixels at 2.5 m; buildings need pixels of 2.5 m or finer "
        "(1 m or finer for houses)",
        60.0,
        0.5,
        note_above_m=1.0,
    ),
    "ship": ClassSpec(
        "ships",
        10.0,
        "pleasure boats are 5-15 m long and need pixels of 1 m or finer; at 5-10 m only ships longer than "
        "about 50 m are visible",
        150.0,
        0.5,
        note_above_m=5.0,
    ),
    "storage_tank": ClassSpec(
        "storage tanks",
        3.0,
        "storage tanks are 10-80 m across; below 3 m pixels the small ones are only a few pixels wide",
        100.0,
        0.5,
    ),
    "water_body": ClassSpec("water bodies", None, "", 0.0, 10.0),
    "field": ClassSpec("fields", None, "", 0.0, 10.0),
    **{
        name: ClassSpec(
            label,
            0.6,
            f"{label} are found by the learned DOTA detector only, trained on 0.1-0.5 m "
            "imagery: they need pixels of 0.6 m or finer",
            extent,
            0.3,
        )
        for name, label, extent in (
            ("plane", "planes", 80.0),
            ("helicopter", "helicopters", 25.0),
            ("harbor", "harbours", 300.0),
            ("bridge", "bridges", 300.0),
            ("swimming_pool", "swimming pools", 30.0),
            ("sports_field", "sports fields", 150.0),
            ("roundabout", "roundabouts", 100.0),
        )
    },
}
"""Requirements per counted class."""

EXPECTED_ERROR: dict[str, str] = {
    "tree": "on 4 NEON 0.1 m plots (DeepForest labels) count errors of -43 % to +32 % (mean |error| 29 %, "
    "MAE 17 trees); detection F1 0.75 on OSBS_029 where the parameters were chosen, 0.55 on the held-out YELL "
    "conifers, about 0 on SOAP (dead grey trees) and SJER (grey-green oaks), which are not seen as canopy",
    "ship": "on DOTA P0706 (marina, 0.26 m) 485 found vs 531 labelled (-9 %), detection F1 0.72, in-sample "
    "(parameters set on this only labelled ship image); boats on land and dark hulls are missed",
    "vehicle": "on DOTA P1888 (car park, 0.27 m) 70 found vs 64 labelled (+9 %), detection F1 0.75, in-sample "
    "(parameters set on this only labelled vehicle image); packed or dark vehicles are often missed",
    "building": "on the SpaceNet Atlanta 0.5 m pan sample 49 found vs 43 labelled (+14 %) but detection F1 only "
    "0.24: the count agreement is largely coincidental (lawns, shadows counted; houses under trees missed)",
    "storage_tank": "not benchmarked on real imagery (synthetic tests only)",
    "water_body": "on the Sen1Floods11 Spain chip (Sentinel-2, 10 m) 185 water bodies vs 230 components of the "
    "hand label (-20 %)",
    "field": "not benchmarked (no parcel labels available); parcels split or merge when crops look alike",
    **{
        name: "learned detector only; see the model's measured accuracy"
        for name in ("plane", "helicopter", "harbor", "bridge", "swimming_pool", "sports_field", "roundabout")
    },
}
"""Honest expected error per class, from ``benchmarks/accuracy_count.py`` (update both together)."""

EXPECTED_REL_ERROR: dict[str, float | None] = {
    "tree": 0.29,
    "ship": 0.09,
    "vehicle": 0.09,
    "building": 0.14,
    "storage_tank": None,
    "water_body": 0.20,
    "field": None,
    **dict.fromkeys(("plane", "helicopter", "harbor", "bridge", "swimming_pool", "sports_field", "roundabout")),
}
"""Mean absolute relative count error measured by the benchmark (None: not measured)."""


# --- helpers shared by the classical detectors -------------------------------------------------------------


def to_unit_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, 3) float32 image in [0, 1] from uint8, uint16 or float input (grey is repeated to 3 bands).

    uint8 is divided by 255 (no stretch: colour ratios stay as recorded); other integer or float data with
    values above 1 get a robust 0.5-99.5 percentile stretch. NaN becomes 0.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., np.newaxis]
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    arr = arr[..., :3]
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    out = np.nan_to_num(arr.astype(np.float32), nan=0.0)
    finite = out[np.isfinite(out)]
    if finite.size and float(finite.max()) <= 1.0 and float(finite.min()) >= 0.0:
        return out
    lo, hi = np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0)
    return np.clip((out - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0).astype(np.float32)


def brightness(rgb01: np.ndarray) -> np.ndarray:
    """Mean of the three bands."""
    return rgb01.mean(axis=-1).astype(np.float32)


def excess_green(rgb01: np.ndarray) -> np.ndarray:
    """Excess green 2g - r - b on chromatic coordinates (Woebbecke 1995): > 0 for green vegetation."""
    total = rgb01.sum(axis=-1) + np.float32(1e-6)
    return ((2 * rgb01[..., 1] - rgb01[..., 0] - rgb01[..., 2]) / total).astype(np.float32)


def block_mean(arr: np.ndarray, factor: int) -> np.ndarray:
    """Downsample a 2-D array by an integer factor (box average), to work at a coarser useful resolution."""
    if factor <= 1:
        return arr
    return ndi.uniform_filter(arr, size=factor)[factor // 2 :: factor, factor // 2 :: factor]


def otsu(values: np.ndarray, default: float) -> float:
    """Otsu threshold of finite values, or ``default`` when they are empty or constant."""
    finite = values[np.isfinite(values)]
    if finite.size < 2 or float(finite.min()) == float(finite.max()):
        return default
    return float(filters.threshold_otsu(finite))


def local_std(arr: np.ndarray, size: int) -> np.ndarray:
    """Standard deviation in a ``size`` x ``size`` window (texture)."""
    size = max(3, size)
    mean = ndi.uniform_filter(arr, size)
    var = ndi.uniform_filter(arr * arr, size) - mean * mean
    return np.sqrt(np.maximum(var, 0.0)).astype(np.float32)


def region_detections(labels: np.ndarray, label: str, *, scale: float = 1.0, score: float = 0.5) -> list[Detection]:
    """One detection per labelled region (its bounding box, scaled back to full resolution by ``scale``)."""
    out = []
    for region in measure.regionprops(labels):
        r0, c0, r1, c1 = region.bbox
        out.append(Detection(c0 * scale, r0 * scale, c1 * scale, r1 * scale, score, label))
    return out
