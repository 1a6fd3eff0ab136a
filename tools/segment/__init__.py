"""Per-pixel classification of one scene, and the ``segment`` tool.

Per-pixel classification of one scene: spectral indices, water / vegetation / built-up masks with automatic
thresholds, cloud screening, SAR water, land cover, class maps, and the ``segment`` tool.

May import ``geovigie.core``, the tool framework, ``geovigie.tools.raster`` and ``geovigie.tools.catalog``.
"""

from geovigie.tools.segment.class_map import read_decimated
from geovigie.tools.segment.cloud import cloud_mask
from geovigie.tools.segment.indices import index_bands, index_of
from geovigie.tools.segment.landcover import (
    BARE,
    BUILT,
    CLOUD,
    GRASS,
    TREE,
    WATER,
    accuracy_vs_eolearn,
    calibrate,
    classify,
)
from geovigie.tools.segment.masks import band_of, bands_for, has_band, merge_bands, vegetation_mask, water_mask
from geovigie.tools.segment.tool import segment

__all__ = [
    "BARE",
    "BUILT",
    "CLOUD",
    "GRASS",
    "TREE",
    "WATER",
    "accuracy_vs_eolearn",
    "band_of",
    "bands_for",
    "calibrate",
    "classify",
    "cloud_mask",
    "has_band",
    "index_bands",
    "index_of",
    "merge_bands",
    "read_decimated",
    "segment",
    "vegetation_mask",
    "water_mask",
]
