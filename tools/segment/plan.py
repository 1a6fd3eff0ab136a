"""How ``segment`` classifies an AOI: bands to read, thresholds fixed once on a sample, the per-tile classifier.

Thresholds must be the same on every tile of a large AOI, so they are fixed first on a sample of the AOI
(the whole AOI when it has at most 1 Mpx, else up to 16 windows of 256x256 px spread evenly over it), then
applied tile by tile through :func:`geovigie.tools.raster.tiling.run_tiled`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from rasterio.windows import Window

from geovigie.core.errors import NoDataError, ToolInputError
from geovigie.tools.models import BANDS_6
from geovigie.tools.raster import NODATA, Grid, RasterData, Scene, read_bands
from geovigie.tools.segment import landcover
from geovigie.tools.segment.cloud import cloud_mask
from geovigie.tools.segment.indices import index_bands, normalised_difference
from geovigie.tools.segment.masks import (
    S2CLOUDLESS_BANDS,
    MaskMethod,
    Target,
    band_of,
    bands_for,
    built_up_mask,
    merge_bands,
    vegetation_mask,
    water_mask,
)
from geovigie.tools.segment.sar import NO_CLOUD_NOTE, sar_water_mask

BACKGROUND, FOREGROUND, CLOUDY = 0, 1, 2
"""Class codes of the binary targets' class raster (255 = no data)."""

SAMPLE_PIXELS = 1 << 20
"""Pixels read (in windows spread over the AOI) to fix thresholds and index statistics once per AOI."""

_MASK_INDICES: dict[str, tuple[str, ...]] = {"water": ("mndwi", "ndwi"), "vegetation": ("ndvi",), "built_up": ("ndbi",)}


class SegmentPlan:
    """What to read and how to classify, fixed once per AOI on a sample."""

    def __init__(
        self,
        scene: Scene,
        target: Target,
        *,
        index: str | None,
        threshold: float | None,
        cloud_masker: Literal["default", "ukis_csmask"] = "default",
    ) -> None:
        """Choose the bands for ``target`` and the index reported as statistics.

        Raises:
            ToolInputError: the scene lacks the bands, or ``index`` does not fit the target.
        """
        self.scene = scene
        self.target = target
        self.index = index
        self.threshold = threshold
        self.target_bands = bands_for(target, scene)
        self.sar = "vv" in self.target_bands
        if threshold is not None and not self.sar and not -1 <= threshold <= 1:
            raise ToolInputError(
                f"Threshold {threshold:g} is outside the index range -1..1.",
                hint="Index thresholds lie in -1..1 (dB thresholds apply only to radar water); or leave it empty.",
            )
        self.cloud_bands: list[str] = []
        self.cloud_note = NO_CLOUD_NOTE if self.sar else ""
        try:
            # Radar sees through clouds: no screening (an optical cloud test would misread dB values).
            self.cloud_bands = [] if self.sar else bands_for("cloud", scene)
        except ToolInputError as exc:
            if target == "cloud":
                raise
            self.cloud_note = f"No cloud screening: {exc.message}"
        self.cloud_masker = cloud_masker
        if cloud_masker == "ukis_csmask" and self.cloud_bands:
            # The U-Nets read blue, green, red, nir (+ swir16, swir22 when present).
            self.cloud_bands = merge_bands(scene, self.cloud_bands, [b for b in BANDS_6 if scene.has_bands(b)])
        self.stats_index = self._stats_index()
        extra = list(index_bands(self.stats_index)) if self.stats_index else []
        self.read = merge_bands(scene, self.target_bands, self.cloud_bands, extra)
        self.method: MaskMethod | None = None
        self.params: landcover.LandcoverParams | None = None
        self.cloud_method: MaskMethod | None = None

    @property
    def needs_context(self) -> bool:
        """True when tiles need overlapping context: s2cloudless averages and dilates its probabilities.

        The SAR speckle filter (3x3 median) needs a 1-pixel margin too. Every other rule is per pixel (the
        threshold cloud test samples a lattice aligned on the tile origin), so tiles can then be read without
        overlap, aligned on the file's blocks.
        """
        return self.sar or self.scene.scale is not None and list(S2CLOUDLESS_BANDS) == self.cloud_bands

    def _stats_index(self) -> str | None:
        target, index = self.target, self.index
        allowed = _MASK_INDICES.get(target)
        if index is not None and allowed is not None and index not in allowed:
            raise ToolInputError(
                f"Index {index!r} cannot map {target}.", hint=f"Use one of {', '.join(allowed)}, or no index."
            )
        candidates = [index] if index else [*(allowed or ()), "ndvi"]
        for name in candidates:
            if self.scene.has_bands(*index_bands(name)):
                return name
        if index:
            self.scene.require_band(next(b for b in index_bands(index) if not self.scene.has_bands(b)))
        return None

    def calibrate(self, sample: RasterData) -> tuple[float | None, dict[str, float | None]]:
        """Fix thresholds on the sample; return (sample cloud fraction, index stats)."""
        cloud = self._cloud(sample)
        clear = sample.valid & ~cloud if cloud is not None else sample.valid
        if self.target == "landcover":
            self.params = landcover.calibrate(sample, valid=clear)
        elif self.target == "water":
            self.method = water_mask(sample, threshold=self.threshold, index=self.index, valid=clear)[1]
        elif self.target == "vegetation":
            self.method = vegetation_mask(sample, threshold=self.threshold, valid=clear)[1]
        elif self.target == "built_up":
            self.method = built_up_mask(sample, threshold=self.threshold, valid=clear)[1]
        valid_n = int(sample.valid.sum())
        fraction = float(cloud.sum()) / valid_n if cloud is not None and valid_n else None
        stats: dict[str, float | None] = {}
        if self.stats_index:
            a, b = index_bands(self.stats_index)
            stats = index_stats(normalised_difference(band_of(sample, a), band_of(sample, b))[clear])
        return fraction, stats

    def _cloud(self, raster: RasterData, valid: np.ndarray | None = None) -> np.ndarray | None:
        if not self.cloud_bands:
            return None
        user = self.threshold if self.target == "cloud" else None
        mask, self.cloud_method = cloud_mask(raster, threshold=user, valid=valid, masker=self.cloud_masker)
        return mask

    def classify(self, rasters: list[RasterData]) -> np.ndarray:
        """Tile function for :func:`geovigie.tools.raster.tiling.run_tiled`."""
        raster = rasters[0]
        valid = raster.valid
        cloud = self._cloud(raster, valid)
        if self.params is not None:
            return landcover.classify(raster, self.params, cloud=cloud)
        out = np.full(valid.shape, NODATA, dtype=np.uint8)
        out[valid] = BACKGROUND
        if self.target == "cloud":
            assert cloud is not None
            out[cloud] = FOREGROUND
            return out
        clear = valid & ~cloud if cloud is not None else valid
        out[self._mask(raster, clear)] = FOREGROUND
        if cloud is not None:
            out[cloud] = CLOUDY
        return out

    def _mask(self, raster: RasterData, clear: np.ndarray) -> np.ndarray:
        method = self.method
        assert method is not None
        if method.index == "sar_vv":
            vh = method.extra.get("vh_threshold_db")
            return sar_water_mask(raster, threshold=method.threshold, vh_threshold=vh, valid=clear)[0]
        if method.target == "water":
            index = method.index if method.index in ("mndwi", "ndwi") else None
            return water_mask(raster, threshold=method.threshold, index=index, valid=clear)[0]
        if method.target == "vegetation":
            return vegetation_mask(raster, threshold=method.threshold, valid=clear)[0]
        return built_up_mask(raster, threshold=method.threshold, valid=clear)[0]


def index_stats(values: np.ndarray) -> dict[str, float | None]:
    """Mean, 10th and 90th percentile of the finite values (None when there are none)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"mean": None, "p10": None, "p90": None}
    p10, p90 = np.percentile(finite, [10, 90])
    return {"mean": round(float(finite.mean()), 4), "p10": round(float(p10), 4), "p90": round(float(p90), 4)}


def sample_windows(grid: Grid, budget: int | None = None) -> list[Window]:
    """Windows to sample: the whole grid when it fits ``budget`` px, else k x k windows of 256 px spread evenly.

    ``budget`` defaults to :data:`SAMPLE_PIXELS` (read at call time).
    """
    budget = SAMPLE_PIXELS if budget is None else budget
    if grid.width * grid.height <= budget:
        return [Window(0, 0, grid.width, grid.height)]
    side = min(256, grid.width, grid.height)
    k = max(1, int(math.sqrt(budget / (side * side))))
    cols = np.linspace(0, grid.width - side, k).astype(int)
    rows = np.linspace(0, grid.height - side, k).astype(int)
    return [Window(int(c), int(r), side, side) for r in rows for c in cols]


def covers(windows: list[Window], grid: Grid) -> bool:
    """True when the sample is the whole grid (statistics are then exact)."""
    return len(windows) == 1 and (windows[0].width, windows[0].height) == (grid.width, grid.height)


def read_sample(scene: Scene, bands: list[str], grid: Grid, windows: list[Window]) -> RasterData:
    """Bands over the sample windows, placed side by side in one raster (threshold and statistics input)."""
    if covers(windows, grid):
        return read_bands(scene, bands, grid)
    parts = []
    for window in windows:
        sub = grid.subgrid(window)
        try:
            parts.append(read_bands(scene, bands, sub).data)
        except NoDataError:
            # A window at a swath or tile edge may hold no valid pixel: it adds nothing to the sample.
            parts.append(np.full((len(bands), sub.height, sub.width), np.nan, np.float32))
    if not any(np.isfinite(p).any() for p in parts):
        raise NoDataError(
            f"Scene {scene.id} has no valid pixels in the sampled windows of the area (all nodata).",
            hint="Choose another scene or move the area of interest onto the imaged part.",
        )
    first = grid.subgrid(windows[0])
    data = np.concatenate(parts, axis=2)
    sample_grid = Grid(crs=first.crs, transform=first.transform, width=data.shape[2], height=data.shape[1])
    return RasterData(data=data, band_names=list(bands), grid=sample_grid, scene=scene)
