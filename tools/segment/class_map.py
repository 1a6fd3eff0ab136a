"""Outputs of a class raster written tile by tile: polygons per class and a colour overlay with legend.

Both read the class COG back at reduced resolution when it is large (COG overviews make this cheap), so
memory stays bounded whatever the AOI size; the decimation factor is returned so callers can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import WindowError
from rasterio.io import DatasetReader
from rasterio.windows import Window, from_bounds

from geovigie.tools.raster import (
    Grid,
    RasterData,
    Scene,
    display_bands,
    downsample_for_display,
    mask_to_features,
    open_raster,
    read_bands,
    read_classes,
    to_rgb,
)

VECTOR_MAX_PIXELS = 4_000_000
"""Largest class raster vectorised at full resolution; larger ones are decimated by powers of two."""
MIN_POLYGON_PIXELS = 4
MAX_FEATURES = 2000


@dataclass
class PolygonSet:
    """Polygons of some classes of a class raster."""

    features: list[dict[str, Any]] = field(default_factory=list)
    total: dict[int, int] = field(default_factory=dict)
    """Polygons per class before truncation to the largest ones."""
    area: dict[int, float] = field(default_factory=dict)
    """Summed polygon area per class (m², or px when not georeferenced) of the kept polygons."""
    factor: int = 1
    """Decimation of the class raster before tracing (1 = full resolution)."""
    pixel_size_m: float | None = None
    """Pixel size of the traced raster."""


def _decimated_grid(grid: Grid, shape: tuple[int, int]) -> Grid:
    sx, sy = grid.width / shape[1], grid.height / shape[0]
    return Grid(crs=grid.crs, transform=grid.transform * Affine.scale(sx, sy), width=shape[1], height=shape[0])


def class_polygons(
    cog: Path,
    grid: Grid,
    names: dict[int, str],
    *,
    properties: dict[str, Any] | None = None,
    max_features: int = MAX_FEATURES,
) -> PolygonSet:
    """Trace the polygons of the given class codes (largest first, speckle under 4 px dropped).

    Args:
        cog: Class raster on ``grid``.
        grid: Its grid.
        names: Class code -> name written in each feature's ``class`` property.
        properties: Extra properties for every feature (item id...).
        max_features: Cap over all classes, shared in proportion to each class's polygon count.
    """
    classes, factor = read_classes(cog, max_pixels=VECTOR_MAX_PIXELS)
    traced = _decimated_grid(grid, classes.shape) if factor > 1 else grid
    out = PolygonSet(factor=factor, pixel_size_m=traced.pixel_size_m)
    per_class = max(1, max_features // max(1, len(names)))
    georef = grid.crs is not None
    for code, name in names.items():
        mask = classes == code
        if not mask.any():
            out.total[code], out.area[code] = 0, 0.0
            continue
        props = {**(properties or {}), "class": name}
        simplify = 0.5 if factor > 1 else 0.0
        feats, total = mask_to_features(
            mask, traced, min_pixels=MIN_POLYGON_PIXELS, max_features=per_class, properties=props, simplify_px=simplify
        )
        out.features.extend(feats)
        out.total[code] = total
        key = "area_m2" if georef else "area_px"
        scale = 1 if georef else factor * factor
        out.area[code] = float(sum(f["properties"][key] for f in feats)) * scale
    return out


def _display_grid(grid: Grid, max_side: int) -> Grid:
    side = max(grid.width, grid.height)
    if side <= max_side or grid.crs is None:
        return grid
    factor = side / max_side
    shape = (max(1, round(grid.height / factor)), max(1, round(grid.width / factor)))
    return _decimated_grid(grid, shape)


def read_decimated(scene: Scene, bands: list[str], grid: Grid, small: Grid) -> RasterData:
    """Bands of ``grid`` read at the coarser ``small`` grid (same extent).

    A decimated read of the source window lets GDAL use the file's overviews, so a picture of a 20 000 px
    scene costs a few MB of reads; a warp (bands on another grid or CRS) would read every source pixel and is
    only used when the band's file is not on the grid's CRS. Parts of ``grid`` outside the file (a second date
    with a slightly different footprint) are NaN.
    """
    if small is grid:
        return read_bands(scene, bands, grid)
    data = np.full((len(bands), small.height, small.width), np.nan, np.float32)
    for i, name in enumerate(bands):
        ref = scene.require_band(name)
        with open_raster(ref.href) as src:
            if grid.crs is None or src.crs != grid.crs:
                return read_bands(scene, bands, small)
            _read_clipped(src, ref.index, from_bounds(*grid.bounds, transform=src.transform), data[i])
    if scene.scale is not None:
        data *= np.float32(scene.scale)
    return RasterData(data=data, band_names=list(bands), grid=small, scene=scene)


def _read_clipped(src: DatasetReader, index: int, window: Window, out: np.ndarray) -> None:
    """Decimated read of ``window`` (source pixels) into ``out``, leaving NaN where it leaves the file."""
    try:
        inside = window.intersection(Window(0, 0, src.width, src.height))
    except WindowError:
        return
    sy, sx = out.shape[0] / window.height, out.shape[1] / window.width
    r0 = round((inside.row_off - window.row_off) * sy)
    c0 = round((inside.col_off - window.col_off) * sx)
    r1 = min(out.shape[0], max(r0 + 1, round((inside.row_off + inside.height - window.row_off) * sy)))
    c1 = min(out.shape[1], max(c0 + 1, round((inside.col_off + inside.width - window.col_off) * sx)))
    if r0 >= out.shape[0] or c0 >= out.shape[1]:
        return
    arr = src.read(index, window=inside, out_shape=(r1 - r0, c1 - c0), resampling=Resampling.nearest)
    part = arr.astype(np.float32)
    nodata = src.nodatavals[index - 1] if src.nodatavals else None
    if nodata is not None:
        part[arr == nodata] = np.nan
    out[r0:r1, c0:c1] = part


def overlay_png(
    scene: Scene,
    grid: Grid,
    cog: Path,
    colours: dict[int, tuple[str, tuple[int, int, int]]],
    *,
    alpha: float = 0.55,
    max_side: int = 1024,
) -> np.ndarray:
    """Scene picture (true colour when possible) with classes blended in colour (the legend is the caller's).

    Args:
        scene: The scene.
        grid: Grid of the class raster.
        cog: Class raster.
        colours: Class code -> (legend label, RGB); codes not listed are left uncoloured.
        alpha: Opacity of the class colours.
        max_side: Longest side of the picture.

    Returns:
        (H, W, 3) uint8 image.
    """
    bands, _label = display_bands(scene)
    unique = list(dict.fromkeys(bands))
    small = _display_grid(grid, max_side)
    raster = read_decimated(scene, unique, grid, small)
    raster.data = raster.data[[unique.index(b) for b in bands]]
    rgb = to_rgb(raster).astype(np.float32)
    with rasterio.open(cog) as src:
        classes = src.read(1, out_shape=rgb.shape[:2], resampling=Resampling.nearest)
    for code, (_name, colour) in colours.items():
        sel = classes == code
        rgb[sel] = rgb[sel] * (1 - alpha) + np.asarray(colour, np.float32) * alpha
    # No legend strip under the picture: it would shift the image against its bounds on the map.
    return downsample_for_display(rgb.astype(np.uint8), max_side=max_side)
