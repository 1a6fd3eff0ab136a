"""The detector registry for ``count_objects``: the offline classical detector of each class, or a user checkpoint.

The shared types and helpers live in :mod:`~geovigie.tools.count.detection` (re-exported here), so each detector
module imports them without importing this registry.
"""

from __future__ import annotations

from geovigie.tools.count.buildings import BuildingDetector
from geovigie.tools.count.detection import (
    CLASS_SPECS,
    EXPECTED_ERROR,
    EXPECTED_REL_ERROR,
    ClassSpec,
    CountedObject,
    DetectedClass,
    Detection,
    MaskedClass,
    ObjectDetector,
    block_mean,
    brightness,
    excess_green,
    local_std,
    otsu,
    region_detections,
    to_unit_rgb,
)
from geovigie.tools.count.ships import ShipDetector
from geovigie.tools.count.tanks import StorageTankDetector
from geovigie.tools.count.trees import TreeCrownDetector
from geovigie.tools.count.vehicles import VehicleDetector

__all__ = [
    "CLASS_SPECS",
    "ClassSpec",
    "CountedObject",
    "DetectedClass",
    "Detection",
    "EXPECTED_ERROR",
    "EXPECTED_REL_ERROR",
    "MaskedClass",
    "ObjectDetector",
    "block_mean",
    "brightness",
    "excess_green",
    "get_detector",
    "local_std",
    "offline_detector",
    "otsu",
    "region_detections",
    "to_unit_rgb",
]


# --- registry ----------------------------------------------------------------------------------------------


def offline_detector(obj: DetectedClass) -> ObjectDetector:
    """The classical offline detector for a class."""
    if obj == "tree":
        return TreeCrownDetector()
    if obj == "ship":
        return ShipDetector()
    if obj == "vehicle":
        return VehicleDetector()
    if obj == "building":
        return BuildingDetector()
    return StorageTankDetector()


def get_detector(obj: DetectedClass, checkpoint: str | None = None) -> ObjectDetector:
    """The detector to use: a user checkpoint when given, else the offline method of the class.

    Raises:
        ToolInputError: the checkpoint is missing or of an unknown format.
        ConfigError: the checkpoint's library (ultralytics, deepforest) is not installed.
    """
    if checkpoint:
        from geovigie.tools.count.checkpoint import load_checkpoint

        return load_checkpoint(checkpoint, obj)
    return offline_detector(obj)
