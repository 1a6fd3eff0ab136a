"""Thresholds shared by the mask makers: Otsu with a bimodality test, and the record of how a mask was made.

Optical masks (:mod:`~geovigie.tools.segment.masks`) and radar water (:mod:`~geovigie.tools.segment.sar`) both use
these, so neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

ThresholdSource = Literal["otsu", "otsu_clamped", "fixed_unimodal", "fixed_otsu_out_of_range", "fixed", "user"]

MIN_PROMINENCE = 0.15
"""Smallest relative rise of a histogram side for it to count as a mode."""


@dataclass(frozen=True)
class MaskMethod:
    """How a mask was made, for provenance and to re-apply the same threshold elsewhere."""

    target: str
    index: str
    """Index or rule name: mndwi, ndwi, sar_vv, ndvi, ndbi, rgb_dark_blue, excess_green, s2cloudless,
    cloud_thresholds."""
    threshold: float | None
    threshold_source: ThresholdSource
    bands: tuple[str, ...]
    approximate: bool
    description: str
    extra: dict[str, float] = field(default_factory=dict)
    """Secondary thresholds (e.g. the NDVI ceiling of built-up)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for provenance parameters."""
        out = asdict(self)
        out["bands"] = list(self.bands)
        return out


def _smooth(hist: np.ndarray, width: int = 5) -> np.ndarray:
    kernel = np.ones(width) / width
    return np.convolve(hist.astype(np.float64), kernel, mode="same")


def _prominence(side: np.ndarray) -> float:
    """Relative height of the highest rise after a dip, walking away from the threshold (0 = monotone)."""
    if side.size == 0:
        return 0.0
    rise = side - np.minimum.accumulate(side)
    j = int(np.argmax(rise))
    return float(rise[j] / side[j]) if side[j] > 0 else 0.0


def otsu_threshold(values: np.ndarray, *, value_range: tuple[float, float] = (-1.0, 1.0)) -> tuple[float, bool]:
    """Otsu threshold of a sample, and whether its histogram is bimodal.

    Bimodal means: walking away from the threshold on each side, the (5-bin smoothed) histogram rises again
    by at least 15 % of the peak it reaches (a mode, not just a tail), and each side holds at least 0.1 % of
    the sample. A unimodal histogram split by Otsu has a monotone tail on one side.

    Returns:
        (threshold, bimodal). (nan, False) when the sample is empty or constant.
    """
    finite = values[np.isfinite(values)]
    if finite.size < 16 or float(finite.min()) == float(finite.max()):
        return float("nan"), False
    hist, edges = np.histogram(finite, bins=256, range=value_range)
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    omega = np.cumsum(p)
    mu = np.cumsum(p * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma_b = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
    sigma_b[~np.isfinite(sigma_b)] = -1
    # Between two separated populations sigma_b is flat across the empty bins: take the middle of the plateau.
    plateau = np.flatnonzero(sigma_b >= sigma_b.max() * (1 - 1e-9))
    if plateau.size == 0:
        return float("nan"), False
    k = int(plateau[len(plateau) // 2])
    if sigma_b[k] <= 0:
        return float("nan"), False
    threshold = float(edges[k + 1])
    smooth = _smooth(hist)
    side_ok = min(omega[k], 1 - omega[k]) >= 1e-3
    bimodal = _prominence(smooth[k + 1 :]) >= MIN_PROMINENCE and _prominence(smooth[: k + 1][::-1]) >= MIN_PROMINENCE
    return threshold, bool(side_ok and bimodal)
