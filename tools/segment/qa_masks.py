"""Cloud and shadow from the class maps that L2 products ship: Sentinel-2 SCL and Landsat QA_PIXEL.

They come first, before any spectral test: the producer's classification uses bands and ancillary data that
a reflectance-only test lacks (cirrus band, sun geometry for shadows).

* **SCL** (Sen2Cor scene classification, 20 m): cloud shadow (3), cloud medium (8) and high (9) probability,
  thin cirrus (10) are masked; 0 is no data.
* **QA_PIXEL** (Landsat Collection 2, 30 m bit flags): dilated cloud (bit 1), cirrus (2), cloud (3) and cloud
  shadow (4) are masked; bit 0 is fill.

Both are read with nearest-neighbour resampling onto the analysis grid (see ``raster.bands``).
"""

from __future__ import annotations

import numpy as np

from geovigie.tools.raster import RasterData, Scene
from geovigie.tools.segment.indices import band_of, has_band
from geovigie.tools.segment.thresholds import MaskMethod

SCL_CLOUD_CLASSES = (3, 8, 9, 10)
QA_CLOUD_BITS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4)
QA_BANDS = ("scl", "qa_pixel")


def qa_band(scene: Scene) -> str | None:
    """The class-map band a scene offers for cloud screening (``scl`` or ``qa_pixel``), or None."""
    for name in QA_BANDS:
        band = scene.find_band(name)
        if band is not None and band.is_class:
            return name
    return None


def qa_cloud_mask(raster: RasterData, ok: np.ndarray) -> tuple[np.ndarray, MaskMethod] | None:
    """Cloud + shadow from SCL or QA_PIXEL when the raster holds one, else None."""
    for name in QA_BANDS:
        if not has_band(raster, name):
            continue
        values = band_of(raster, name)
        finite = np.isfinite(values)
        codes = np.where(finite, values, 0).astype(np.uint16)
        if name == "scl":
            mask = np.isin(codes, SCL_CLOUD_CLASSES)
            desc = "Sentinel-2 SCL classes 3 (cloud shadow), 8, 9 (cloud) and 10 (thin cirrus)"
        else:
            mask = (codes & QA_CLOUD_BITS) != 0
            desc = "Landsat QA_PIXEL bits 1 (dilated cloud), 2 (cirrus), 3 (cloud) and 4 (cloud shadow)"
        mask &= ok & finite
        return mask, MaskMethod("cloud", name, 0.5, "fixed", (name,), False, desc, {})
    return None
