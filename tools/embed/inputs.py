"""Presto's inputs from pixels: channel order, units, normalisation, masks, months and locations.

Presto normalises S1 backscatter as (dB + 25) / 25 and Sentinel-2 as DN / 10000, and adds NDVI from B8 and B4.
ERA5 weather and SRTM topography are not read here: they are masked, which Presto was trained to accept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from pyproj import Transformer

from geovigie.tools.raster import Grid, RasterData, Scene

S1 = ("vv", "vh")
S2 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
CHANNELS = 17
NDVI = 16
RED, NIR = 4, 8
"""Positions of B04 and B08 among the 17 channels."""


def available_bands(scene: Scene) -> list[str]:
    """The Presto input bands this scene has, in Presto's order (S1 first, then S2)."""
    return [b for b in (*S1, *S2) if scene.find_band(b) is not None]


def _as_dn(values: np.ndarray) -> np.ndarray:
    """Sentinel-2 as digital numbers (reflectance x 10 000): scenes with a scale are read as reflectance 0-1."""
    finite = values[np.isfinite(values)]
    return values * 10_000.0 if finite.size and float(np.nanmedian(finite)) < 2.0 else values


def _as_db(values: np.ndarray) -> np.ndarray:
    """Backscatter in dB: linear power (positive, mostly below 1) is converted."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0 and float(np.median(finite)) < 1.0:
        return 10.0 * np.log10(np.maximum(values, 1e-6))
    return values


def series(steps: Sequence[RasterData]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised inputs (N, T, 17) and missing-channel mask (N, T, 17; 1 = missing) of one tile's time steps.

    Each step is the bands of one date on the same grid, named as in :data:`S1` / :data:`S2`. A pixel is
    missing in a channel when the band is absent or not finite there.
    """
    return from_arrays([{n: d.band(n).reshape(-1) for n in d.band_names} for d in steps])


def from_arrays(steps: Sequence[Mapping[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised inputs and mask, as :func:`series`, from flat (N,) arrays per band name and time step."""
    n = len(next(iter(steps[0].values())))
    x = np.zeros((n, len(steps), CHANNELS), np.float32)
    mask = np.ones_like(x)
    for t, bands in enumerate(steps):
        for i, name in enumerate((*S1, *S2)):
            if name not in bands:
                continue
            raw = np.asarray(bands[name], np.float32).reshape(-1)
            v = (_as_db(raw) + 25.0) / 25.0 if i < len(S1) else _as_dn(raw) / 10_000.0
            ok = np.isfinite(v)
            x[:, t, i] = np.where(ok, v, 0.0)
            mask[:, t, i] = ~ok
        red, nir = x[:, t, RED], x[:, t, NIR]
        ok = (mask[:, t, RED] == 0) & (mask[:, t, NIR] == 0) & (red + nir > 0)
        x[:, t, NDVI] = np.where(ok, (nir - red) / np.where(ok, red + nir, 1.0), 0.0)
        mask[:, t, NDVI] = ~ok
    return x, mask


def months_of(scenes: Sequence[Scene], n: int) -> np.ndarray:
    """(N, T) month indices 0-11 of each step (June when a scene has no date)."""
    months = [int(s.datetime[5:7]) - 1 if s.datetime and len(s.datetime) >= 7 else 5 for s in scenes]
    return np.tile(np.array(months, np.int64), (n, 1))


def latlon_of(grid: Grid) -> np.ndarray:
    """(N, 3) pixel centres on the unit sphere (x, y, z); (1, 0, 0) everywhere for a plain image."""
    h, w = grid.shape
    if grid.crs is None:
        out = np.zeros((h * w, 3), np.float32)
        out[:, 0] = 1.0
        return out
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    xs, ys = grid.transform * (cols.reshape(-1), rows.reshape(-1))
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    lat_r, lon_r = np.radians(np.asarray(lat)), np.radians(np.asarray(lon))
    return np.stack([np.cos(lat_r) * np.cos(lon_r), np.cos(lat_r) * np.sin(lon_r), np.sin(lat_r)], axis=-1).astype(
        np.float32
    )


def degrees_to_unit(lat: float, lon: float) -> tuple[float, float, float]:
    """One lat/lon in degrees on the unit sphere."""
    la, lo = math.radians(lat), math.radians(lon)
    return (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))
