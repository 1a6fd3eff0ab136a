"""Per-tile change scoring of :mod:`geovigie.tools.change.pair`: magnitude, direction, state gates, classes.

Everything here works on one tile of both dates read on the same grid, with statistics and thresholds frozen
by the calibration passes (:class:`Calibration`), so tiles can be scored in any order and in threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geovigie.tools.change import methods as cm
from geovigie.tools.change.presets import ChangePlan
from geovigie.tools.raster import NODATA, Grid, RasterData
from geovigie.tools.segment import band_of, cloud_mask, index_bands, index_of, vegetation_mask, water_mask


@dataclass
class Calibration:
    """Statistics and thresholds frozen after the sample passes."""

    stats: cm.RadiometricStats
    water: tuple[float | None, float | None] = (None, None)
    vegetation: tuple[float | None, float | None] = (None, None)
    threshold: float = float("nan")
    raw_threshold: float = float("nan")
    cloud_fraction_sample: float = 0.0
    sample_tiles: int = 0
    sample_pixels: int = 0
    mask_methods: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TileScore:
    """Per-tile arrays used to classify."""

    magnitude: np.ndarray
    direction: np.ndarray | None
    gain_allowed: np.ndarray | None
    loss_allowed: np.ndarray | None
    valid: np.ndarray
    excluded: np.ndarray
    candidate: np.ndarray
    """Pixels whose magnitude enters the threshold sample."""


def _index(r: RasterData, name: str) -> np.ndarray:
    if name == "builtup":
        return index_of(r, "swir16", "nir") - index_of(r, "nir", "red")
    return index_of(r, *index_bands(name))


def _delta(plan: ChangePlan, a: RasterData, b: RasterData) -> np.ndarray | None:
    """Signed index change (date 2 - date 1) x the preset's sign; None without an index."""
    if plan.index is None:
        return None
    delta = _index(a, plan.index) - _index(b, plan.index)
    # x * 1.0 == x and x * -1.0 == -x exactly: skip the multiplication pass.
    return delta if plan.sign == 1.0 else np.negative(delta) if plan.sign == -1.0 else plan.sign * delta


def stack_bands(r: RasterData, names: list[str]) -> np.ndarray:
    """(bands, ...) stack of the named bands of a raster."""
    return np.stack([band_of(r, n) for n in names])


def clouds(plan: ChangePlan, b: RasterData, a: RasterData) -> np.ndarray:
    """Pixels cloudy on either date (none when the plan has no cloud screening)."""
    if not plan.cloud:
        return np.zeros(b.data.shape[1:], bool)
    return cloud_mask(b)[0] | cloud_mask(a)[0]


def _states(
    plan: ChangePlan, cal: Calibration, b: RasterData, a: RasterData, ok: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if plan.state == "water" or plan.urban_gate or plan.burn_gate:
        out["water"] = (
            water_mask(b, threshold=cal.water[0], valid=ok)[0],
            water_mask(a, threshold=cal.water[1], valid=ok)[0],
        )
    if plan.state == "vegetation" or plan.urban_gate:
        out["vegetation"] = (
            vegetation_mask(b, threshold=cal.vegetation[0], valid=ok)[0],
            vegetation_mask(a, threshold=cal.vegetation[1], valid=ok)[0],
        )
    return out


def _direction(
    plan: ChangePlan, cal: Calibration, b: RasterData, a: RasterData, delta: np.ndarray | None
) -> np.ndarray | None:
    if plan.preset == "generic":
        return None
    if delta is not None:
        return cm.nan_gaussian(delta, plan.spec.smooth_sigma)
    if plan.state is not None:
        return None  # set from the state masks
    bright = cm.brightness_change(stack_bands(b, plan.cva_bands), stack_bands(a, plan.cva_bands), cal.stats)
    # Without NIR/SWIR a burn scar is a darkening; built-up gain is usually a brightening.
    return -bright if plan.preset == "burn" else bright


def score_tile(plan: ChangePlan, cal: Calibration, b: RasterData, a: RasterData) -> TileScore:
    """Magnitude, direction and allowed-direction masks of one tile (both rasters on the same grid)."""
    valid = b.valid & a.valid
    excluded = clouds(plan, b, a) & valid
    ok = valid & ~excluded
    delta = _delta(plan, a, b)
    if plan.method == "index_difference" and delta is not None:
        magnitude = cm.nan_gaussian(np.abs(delta), plan.spec.smooth_sigma)
    else:
        magnitude = cm.cva_magnitude(stack_bands(b, plan.cva_bands), stack_bands(a, plan.cva_bands), cal.stats)
    direction = _direction(plan, cal, b, a, delta)
    states = _states(plan, cal, b, a, ok)
    gain_ok: np.ndarray | None = None
    loss_ok: np.ndarray | None = None
    candidate = ok
    if plan.state is not None:
        s_b, s_a = states[plan.state]
        appear, vanish = s_a & ~s_b, s_b & ~s_a
        # Flood: GAIN = water appears. Deforestation: GAIN = vegetation vanishes.
        gain_ok, loss_ok = (appear, vanish) if plan.state == "water" else (vanish, appear)
        if direction is None:
            direction = np.where(gain_ok, 1.0, -1.0).astype(np.float32)
    if plan.urban_gate:
        (wb, wa), (vb, va) = states["water"], states["vegetation"]
        # Urban change needs a non-vegetated, non-water surface on at least one date (no crop phenology,
        # no river turbidity).
        gain_ok = loss_ok = ~(wb & wa) & ~(vb & va)
        candidate = ok & gain_ok
    if plan.burn_gate:
        wb, wa = states["water"]
        gain_ok = loss_ok = ~(wb | wa)
        candidate = ok & gain_ok
    magnitude = np.where(ok, magnitude, np.float32(np.nan)).astype(np.float32, copy=False)
    return TileScore(magnitude, direction, gain_ok, loss_ok, valid, excluded, candidate & np.isfinite(magnitude))


def _keep_edges(sub: Grid, grid: Grid) -> tuple[bool, bool, bool, bool]:
    row = round((sub.transform.f - grid.transform.f) / grid.transform.e)
    col = round((sub.transform.c - grid.transform.c) / grid.transform.a)
    return (row > 0, row + sub.height < grid.height, col > 0, col + sub.width < grid.width)


def classify_tile(
    plan: ChangePlan, cal: Calibration, b: RasterData, a: RasterData, *, grid: Grid, min_px: int
) -> np.ndarray:
    """uint8 classes of one tile (see module docstring), cleaned."""
    s = score_tile(plan, cal, b, a)
    threshold = cal.threshold if np.isfinite(cal.threshold) else np.inf
    classes = cm.classify_change(
        s.magnitude, threshold, direction=s.direction, gain_allowed=s.gain_allowed, loss_allowed=s.loss_allowed
    )
    classes = cm.clean_classes(
        classes, open_radius_px=plan.spec.open_radius_px, min_pixels=min_px, keep_edges=_keep_edges(b.grid, grid)
    )
    classes[s.excluded] = cm.EXCLUDED
    classes[~s.valid] = NODATA
    return classes
