"""The bi-temporal change engine: automatic calibration (two sample passes) and tiled classification.

Date 2 is always read onto date 1's grid (``read_bands`` warps it), tile by tile, so memory depends on the
tile size, not on the AOI. Automatic thresholds need the whole distribution, so the work runs in passes:

1. **sample pass** — up to ``MAX_SAMPLE_TILES`` tiles spread evenly over the grid are read; on cloud-free
   valid pixels a random sample (≤ ``SAMPLE_PER_TILE`` per tile) gives the radiometric statistics (mean/std
   matching of date 2, per-band CVA scale), the water/vegetation thresholds of both dates
   (:mod:`tools.masks`, Otsu when bimodal) and an early cloud-cover estimate;
2. **threshold pass** — the same tiles are scored with those statistics and the change threshold is computed
   on a sample of the candidate pixels' magnitudes (Otsu, Kittler-Illingworth or k-means);
3. **classify pass** — :func:`tools.tiled.run_tiled` scores every tile with the frozen statistics and
   thresholds, cleans it (opening, minimum mapping unit; objects touching an inner tile edge are kept) and
   streams the class raster to a COG. A one-tile AOI is read once for passes 1-2.

Class values: 0 no change, 1 change in the preset's direction, 2 opposite direction, 3 excluded (cloud in
either date), 255 no data (see :mod:`tools.change_methods`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import NoDataError, TooCloudyError
from tools import change_methods as cm
from tools.base import ProgressFn
from tools.change_presets import ChangePlan
from tools.cloud import cloud_mask
from tools.indices import index_bands, normalised_difference
from tools.masks import band_of, vegetation_mask, water_mask
from tools.raster_grid import Grid, Tile, iter_tiles
from tools.raster_read import RasterData, read_bands
from tools.scene import Scene
from tools.tiled import NODATA, TiledResult, run_tiled

MAX_SAMPLE_TILES = 9
SAMPLE_PER_TILE = 150_000
MAX_CLOUD_FRACTION = 0.8


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
        ndbi = normalised_difference(band_of(r, "swir16"), band_of(r, "nir"))
        return ndbi - normalised_difference(band_of(r, "nir"), band_of(r, "red"))
    a, b = index_bands(name)
    return normalised_difference(band_of(r, a), band_of(r, b))


def _stack(r: RasterData, names: list[str]) -> np.ndarray:
    return np.stack([band_of(r, n) for n in names])


def _clouds(plan: ChangePlan, b: RasterData, a: RasterData) -> np.ndarray:
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
    bright = cm.brightness_change(_stack(b, plan.cva_bands), _stack(a, plan.cva_bands), cal.stats)
    # Without NIR/SWIR a burn scar is a darkening; built-up gain is usually a brightening.
    return -bright if plan.preset == "burn" else bright


def score_tile(plan: ChangePlan, cal: Calibration, b: RasterData, a: RasterData) -> TileScore:
    """Magnitude, direction and allowed-direction masks of one tile (both rasters on the same grid)."""
    valid = b.valid & a.valid
    excluded = _clouds(plan, b, a) & valid
    ok = valid & ~excluded
    delta = plan.sign * (_index(a, plan.index) - _index(b, plan.index)) if plan.index is not None else None
    if plan.method == "index_difference" and delta is not None:
        magnitude = cm.nan_gaussian(np.abs(delta), plan.spec.smooth_sigma)
    else:
        magnitude = cm.cva_magnitude(_stack(b, plan.cva_bands), _stack(a, plan.cva_bands), cal.stats)
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
    magnitude = np.where(ok, magnitude, np.nan).astype(np.float32)
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


def sample_tiles(grid: Grid, tile_size: int, overlap: int) -> list[Tile]:
    """Up to MAX_SAMPLE_TILES tiles spread evenly over the grid (row-major order)."""
    tiles = list(iter_tiles(grid, tile_size=tile_size, overlap=overlap))
    if len(tiles) <= MAX_SAMPLE_TILES:
        return tiles
    picks = np.unique(np.linspace(0, len(tiles) - 1, MAX_SAMPLE_TILES).round().astype(int))
    return [tiles[i] for i in picks]


def _read_pair(plan: ChangePlan, before: Scene, after: Scene, sub: Grid) -> tuple[RasterData, RasterData] | None:
    try:
        return read_bands(before, plan.bands_before, sub), read_bands(after, plan.bands_after, sub)
    except NoDataError:
        return None


def _sample(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n, size=k, replace=False) if n > k else np.arange(n)


def _pixel_sample(r: RasterData, where: np.ndarray) -> RasterData:
    """A (bands, 1, n) raster of selected pixels, so that masks.* thresholds can run on a sample."""
    return RasterData(r.data[:, where][:, None, :], r.band_names, r.grid, r.scene)


def calibrate(
    plan: ChangePlan,
    before: Scene,
    after: Scene,
    grid: Grid,
    *,
    tile_size: int,
    overlap: int,
    progress: ProgressFn | None = None,
) -> Calibration:
    """Sample and threshold passes (see module docstring).

    Raises:
        NoDataError: no sampled tile has jointly valid pixels.
        TooCloudyError: more than 80 % of the sampled valid pixels are cloudy in either date.
    """
    rng = np.random.default_rng(0)
    tiles = sample_tiles(grid, tile_size, overlap)
    cache: dict[int, tuple[RasterData, RasterData] | None] = {}
    picks_b: list[RasterData] = []
    picks_a: list[RasterData] = []
    valid_n = cloud_n = 0
    for i, tile in enumerate(tiles):
        pair = _read_pair(plan, before, after, grid.subgrid(tile.read))
        if len(tiles) == 1:
            cache[i] = pair
        if pair is None:
            continue
        b, a = pair
        valid = b.valid & a.valid
        clouds = _clouds(plan, b, a) & valid
        valid_n += int(valid.sum())
        cloud_n += int(clouds.sum())
        where = np.flatnonzero(valid & ~clouds)
        where = where[_sample(where.size, SAMPLE_PER_TILE, rng)]
        flat_b = RasterData(b.data.reshape(b.data.shape[0], -1), b.band_names, b.grid, b.scene)
        flat_a = RasterData(a.data.reshape(a.data.shape[0], -1), a.band_names, a.grid, a.scene)
        picks_b.append(_pixel_sample(flat_b, where))
        picks_a.append(_pixel_sample(flat_a, where))
        if progress:
            progress(0.15 * (i + 1) / len(tiles), f"sampling tile {i + 1}/{len(tiles)}")
    if valid_n == 0:
        raise NoDataError(
            f"{before.id} and {after.id} have no jointly valid pixels in the area.",
            hint="Check that both scenes cover the area of interest.",
        )
    cloud_fraction = cloud_n / valid_n
    if cloud_fraction > MAX_CLOUD_FRACTION:
        raise TooCloudyError(
            f"{cloud_fraction:.0%} of the area is cloudy in {before.id} or {after.id} (limit 80 %).",
            hint="Search clearer scenes (lower eo:cloud_cover) for one or both dates.",
        )
    sb = RasterData(np.concatenate([p.data for p in picks_b], axis=2), picks_b[0].band_names, grid, before)
    sa = RasterData(np.concatenate([p.data for p in picks_a], axis=2), picks_a[0].band_names, grid, after)
    cal = _sample_calibration(plan, sb, sa)
    cal.cloud_fraction_sample = cloud_fraction
    cal.sample_tiles = len(tiles)
    cal.sample_pixels = int(sb.data.shape[2])
    _threshold_pass(plan, cal, before, after, grid, tiles, cache, rng, progress)
    return cal


def _sample_calibration(plan: ChangePlan, sb: RasterData, sa: RasterData) -> Calibration:
    if sb.data.shape[2] < 2:
        raise NoDataError("Fewer than 2 cloud-free valid pixels in the area.", hint="Use a larger or clearer area.")
    stats = cm.radiometric_stats(_stack(sb, plan.cva_bands)[:, 0, :], _stack(sa, plan.cva_bands)[:, 0, :])
    cal = Calibration(stats=stats)
    if plan.state == "water" or plan.urban_gate or plan.burn_gate:
        (_, mb), (_, ma) = water_mask(sb), water_mask(sa)
        cal.water = (mb.threshold, ma.threshold)
        cal.mask_methods += [{"date": "before", **mb.as_dict()}, {"date": "after", **ma.as_dict()}]
    if plan.state == "vegetation" or plan.urban_gate:
        (_, vb), (_, va) = vegetation_mask(sb), vegetation_mask(sa)
        cal.vegetation = (vb.threshold, va.threshold)
        cal.mask_methods += [{"date": "before", **vb.as_dict()}, {"date": "after", **va.as_dict()}]
    return cal


def _threshold_pass(
    plan: ChangePlan,
    cal: Calibration,
    before: Scene,
    after: Scene,
    grid: Grid,
    tiles: list[Tile],
    cache: dict[int, tuple[RasterData, RasterData] | None],
    rng: np.random.Generator,
    progress: ProgressFn | None,
) -> None:
    values: list[np.ndarray] = []
    for i, tile in enumerate(tiles):
        pair = cache[i] if i in cache else _read_pair(plan, before, after, grid.subgrid(tile.read))
        if pair is None:
            continue
        s = score_tile(plan, cal, *pair)
        v = s.magnitude[s.candidate]
        values.append(v[_sample(v.size, SAMPLE_PER_TILE, rng)])
        if progress:
            progress(0.15 + 0.15 * (i + 1) / len(tiles), f"threshold sample {i + 1}/{len(tiles)}")
    sample = np.concatenate(values) if values else np.empty(0, np.float32)
    cal.raw_threshold = cm.auto_threshold(sample, plan.threshold_method)
    floor = plan.spec.floor if plan.method == "index_difference" else None
    if floor is not None:
        cal.threshold = max(cal.raw_threshold, floor) if np.isfinite(cal.raw_threshold) else floor
    else:
        cal.threshold = cal.raw_threshold


@dataclass
class PairOutcome:
    """Result of the classify pass."""

    plan: ChangePlan
    calibration: Calibration
    tiled: TiledResult
    grid: Grid
    min_pixels: int

    def pixels(self, value: int) -> int:
        """Pixel count of a class value."""
        return self.tiled.histogram.get(value, 0)

    @property
    def changed_pixels(self) -> int:
        """Pixels in the counted change classes."""
        return sum(self.pixels(v) for v in self.plan.spec.counted)

    @property
    def analysed_pixels(self) -> int:
        """Valid pixels not excluded by clouds."""
        return self.tiled.valid_pixels - self.pixels(cm.EXCLUDED)


def run_pair(
    plan: ChangePlan,
    before: Scene,
    after: Scene,
    grid: Grid,
    *,
    tile_size: int,
    overlap: int,
    out_path: Path | None,
    pixel_area_m2: float | None,
    progress: ProgressFn | None = None,
) -> PairOutcome:
    """Calibrate then classify every tile; the class raster goes to ``out_path`` (COG) when given.

    Raises:
        NoDataError, TooCloudyError: see :func:`calibrate`; TooCloudyError also when the full pass finds
            more than 80 % of the valid pixels cloudy.
    """
    cal = calibrate(plan, before, after, grid, tile_size=tile_size, overlap=overlap, progress=progress)
    min_px = cm.min_pixels(plan.min_area_m2, pixel_area_m2)

    def fn(rasters: list[RasterData]) -> np.ndarray:
        return classify_tile(plan, cal, rasters[0], rasters[1], grid=grid, min_px=min_px)

    def tiled_progress(fraction: float, message: str) -> None:
        if progress:
            progress(0.3 + 0.6 * fraction, f"classifying {message}")

    tiled = run_tiled(
        scenes=[before, after],
        bands=[plan.bands_before, plan.bands_after],
        grid=grid,
        fn=fn,
        tile_size=tile_size,
        overlap=overlap,
        out_path=out_path,
        progress=tiled_progress,
    )
    outcome = PairOutcome(plan, cal, tiled, grid, min_px)
    if outcome.tiled.valid_pixels and outcome.pixels(cm.EXCLUDED) / outcome.tiled.valid_pixels > MAX_CLOUD_FRACTION:
        raise TooCloudyError(
            f"Over 80 % of the area is cloudy in {before.id} or {after.id}.",
            hint="Search clearer scenes for one or both dates.",
        )
    return outcome
