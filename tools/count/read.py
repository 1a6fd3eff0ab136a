"""Reading imagery for ``count_objects``: tile windows, one contrast stretch per scene, decimated pictures.

Detectors see 8-bit images. 8-bit sources (aerial RGB, PNG/JPEG) are passed through unchanged so that colour
ratios stay as recorded; other sources (uint16 pan, reflectance) get one linear 0.5-99.5 percentile stretch
computed on a decimated read of the whole AOI, so that every tile is stretched alike.

Plain (non-georeferenced) images are read here by pixel window directly rather than through
:func:`geovigie.tools.raster.read.read_bands` on a sub-grid.

Nodata: detectors see the file's own values, nodata included (a declared nodata pixel gets its value back).
Some 8-bit products declare 255 as nodata although 255 is also the saturated value of bright sand or white
roofs (the NEON orthophotos do): turning those into black specks would create false dark objects. The area
analysed counts a pixel as missing only when every band is.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window

from geovigie.core.errors import NoDataError
from geovigie.tools.count.output import thumbnail_factor
from geovigie.tools.raster import Grid, Scene, display_bands, open_raster, read_bands
from geovigie.tools.segment import read_decimated

Stretch = tuple[np.ndarray, np.ndarray] | None


def source_is_uint8(scene: Scene, bands: list[str]) -> bool:
    """True when every band is stored as 8-bit integers with no reflectance scale."""
    if scene.scale is not None:
        return False
    for name in bands:
        ref = scene.require_band(name)
        with open_raster(ref.href) as src:
            if src.dtypes[ref.index - 1] != "uint8":
                return False
    return True


def _plain_read(scene: Scene, bands: list[str], grid: Grid, window: Window, out_shape: tuple[int, int]) -> np.ndarray:
    """Bands of a non-georeferenced image by pixel window (grid offsets in its transform), NaN = nodata."""
    col = int(round(grid.transform.c + window.col_off))
    row = int(round(grid.transform.f + window.row_off))
    target = Window(col, row, int(window.width), int(window.height))
    out = np.empty((len(bands),) + out_shape, dtype=np.float32)
    for i, name in enumerate(bands):
        ref = scene.require_band(name)
        with open_raster(ref.href) as src:
            arr = src.read(ref.index, window=target, out_shape=out_shape, resampling=Resampling.nearest)
            nodata = src.nodatavals[ref.index - 1] if src.nodatavals else None
        out[i] = arr
        if nodata is not None:
            out[i][arr == nodata] = np.nan
    if scene.scale is not None:
        out *= np.float32(scene.scale)
    return out


def read_window(scene: Scene, bands: list[str], grid: Grid, window: Window) -> np.ndarray:
    """(bands, h, w) float32 of a window of ``grid`` (NaN where no data).

    Raises:
        NoDataError: nothing valid in the window.
    """
    if grid.crs is not None:
        return read_bands(scene, bands, grid.subgrid(window)).data
    data = _plain_read(scene, bands, grid, window, (int(window.height), int(window.width)))
    if not np.isfinite(data).all(axis=0).any():
        raise NoDataError(f"Scene {scene.id} has no valid pixels in this window.", hint="")
    return data


def read_sample(scene: Scene, bands: list[str], grid: Grid, factor: int) -> np.ndarray:
    """(bands, h, w) of the whole grid read ``factor`` times coarser (cheap: decimated reads)."""
    h, w = max(1, grid.height // factor), max(1, grid.width // factor)
    if grid.crs is None:
        return _plain_read(scene, bands, grid, Window(0, 0, grid.width, grid.height), (h, w))
    small = Grid(crs=grid.crs, transform=grid.transform @ Affine.scale(grid.width / w, grid.height / h), width=w,
                 height=h)  # fmt: skip
    return read_decimated(scene, bands, grid, small).data


def stretch_of(scene: Scene, bands: list[str], grid: Grid) -> Stretch:
    """Per-band (low, high) for the 8-bit conversion, or None for 8-bit sources (passed through)."""
    if source_is_uint8(scene, bands):
        return None
    sample = read_sample(scene, bands, grid, thumbnail_factor(grid, 512))
    lo = np.zeros(len(bands), dtype=np.float32)
    hi = np.ones(len(bands), dtype=np.float32)
    for i in range(len(bands)):
        finite = sample[i][np.isfinite(sample[i])]
        if finite.size:
            lo[i], hi[i] = np.percentile(finite, [0.5, 99.5])
            hi[i] = max(hi[i], lo[i] + 1e-6)
    return lo, hi


def nodata_values(scene: Scene, bands: list[str]) -> np.ndarray:
    """Declared nodata value per band (NaN when none), after the reflectance scale."""
    out = np.full(len(bands), np.nan, dtype=np.float32)
    for i, name in enumerate(bands):
        ref = scene.require_band(name)
        with open_raster(ref.href) as src:
            value = src.nodatavals[ref.index - 1] if src.nodatavals else None
        if value is not None:
            out[i] = value * (scene.scale if scene.scale is not None else 1.0)
    return out


def to_uint8(data: np.ndarray, stretch: Stretch, nodata: np.ndarray | None = None) -> np.ndarray:
    """(bands, h, w) floats to (h, w, bands) uint8 with the scene's stretch.

    Missing values get back the band's declared ``nodata`` value (see the module docstring), else 0.
    """
    if nodata is not None and np.isfinite(nodata).any():
        missing = np.isnan(data)
        if missing.any():
            data = data.copy()
            for i in np.flatnonzero(np.isfinite(nodata)):
                data[i][missing[i]] = nodata[i]
    if stretch is None:
        out = np.clip(np.nan_to_num(data, nan=0.0), 0, 255)
    else:
        lo, hi = stretch
        scaled = (data - lo[:, None, None]) / (hi - lo)[:, None, None]
        out = np.clip(np.nan_to_num(scaled, nan=0.0), 0, 1) * 255
    return np.moveaxis(out.astype(np.uint8), 0, -1)


def display_sample(scene: Scene, grid: Grid) -> tuple[np.ndarray, int]:
    """A picture of the grid (true colour when possible) at most 1024 px on a side, and its decimation."""
    shown, _ = display_bands(scene)
    bands = list(dict.fromkeys(shown))
    factor = thumbnail_factor(grid)
    data = read_sample(scene, bands, grid, factor)
    rgb = to_uint8(data, stretch_of(scene, bands, grid), nodata_values(scene, bands))
    return np.ascontiguousarray(rgb[..., [bands.index(b) for b in shown]]), factor
