"""Windowed reads of scene bands onto a common grid (never the whole scene when an AOI is given).

Co-registration of two dates is "read date 2 onto date 1's grid": each band is warped (bilinear) onto the
reference grid through a GDAL WarpedVRT, which only fetches the source blocks the window needs. Pixels that
fall outside the source become NaN, so a date-2 raster a few pixels smaller (OSCD Abu Dhabi, Hong Kong)
simply leaves a NaN border that every tool masks out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from affine import Affine
from rasterio.enums import MaskFlags, Resampling
from rasterio.io import DatasetReader
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from geovigie.core.domain import BBox
from geovigie.core.errors import NoDataError, ToolInputError
from geovigie.tools.raster.aoi import outside_aoi
from geovigie.tools.raster.budget import at_overview, check_read_budget
from geovigie.tools.raster.datasets import DatasetCache as DatasetCache
from geovigie.tools.raster.datasets import cached_or_open
from geovigie.tools.raster.datasets import open_raster as open_raster
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.mosaic import parts_of, read_mosaic
from geovigie.tools.raster.radiometry import Radiometry, radiometry_of
from geovigie.tools.raster.scene import BandRef, Scene
from geovigie.tools.raster.vsi import readable_href, remote_env


@dataclass
class RasterData:
    """Bands of one scene on one grid, as float32 with NaN where there is no valid data.

    ``data`` is treated as immutable once :attr:`valid` has been asked for (the mask is cached): assign a new
    array to ``data`` rather than editing it in place after that.
    """

    data: np.ndarray
    """(bands, height, width) float32; reflectance when the scene has a scale, raw values otherwise."""
    band_names: list[str]
    grid: Grid
    scene: Scene
    _memo: tuple[np.ndarray, dict[str, np.ndarray]] | None = field(default=None, init=False, repr=False, compare=False)
    lookups: dict[tuple[str, ...], int | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Band positions already resolved by name (see :func:`geovigie.tools.segment.indices.band_of`): a scene lookup per
    call
    costs ~30 µs, thousands of times over a large AOI."""

    def band(self, name: str) -> np.ndarray:
        """One band by the name it was requested with."""
        return self.data[self.band_names.index(name)]

    @property
    def valid(self) -> np.ndarray:
        """Pixels valid in every band (read-only; computed once per ``data`` array)."""
        return self.derived("valid", lambda: all_finite(self.data))

    def derived(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """An array derived from ``data`` (validity, an index...), computed once per ``data`` array.

        Tiles are screened for clouds, water and change from the same bands: this keeps each index to one
        computation. The array is shared, so it is returned read-only.
        """
        if self._memo is None or self._memo[0] is not self.data:
            self._memo = (self.data, {})
        memo = self._memo[1]
        if key not in memo:
            value = compute()
            value.flags.writeable = False
            memo[key] = value
        return memo[key]


def all_finite(data: np.ndarray) -> np.ndarray:
    """(H, W) pixels finite in every band of a (bands, H, W) array."""
    if data.shape[0] == 0:
        return np.ones(data.shape[1:], bool)
    # Band by band into one mask: np.all(axis=0) would first build a (bands, H, W) boolean array.
    mask = np.isfinite(data[0])
    for band in data[1:]:
        mask &= np.isfinite(band)
    return mask


def _reference_band(scene: Scene, bands: Sequence[str]) -> BandRef:
    refs = [scene.require_band(b) for b in bands] if bands else scene.bands()
    if not refs:
        raise ToolInputError(f"Scene {scene.id} has no data assets.", hint="Re-ingest the scene.")
    return min(refs, key=lambda r: r.gsd if r.gsd is not None else math.inf)


def scene_grid(scene: Scene, bbox: BBox | None, *, bands: Sequence[str] = (), max_pixels: int | None = None) -> Grid:
    """The native grid of a scene's finest requested band, cropped to an AOI.

    Args:
        scene: The scene.
        bbox: AOI in EPSG:4326, or None for the whole scene.
        bands: Bands that will be read (the finest one sets the grid).
        max_pixels: Refuse grids larger than this.

    Raises:
        NoDataError: the AOI does not intersect the scene.
        ToolInputError: the AOI needs a georeferenced scene, or the grid is too large.
    """
    ref = _reference_band(scene, bands)
    with remote_env(scene.item), open_raster(readable_href(scene.item, ref.href)) as src:
        crs = src.crs if scene.georeferenced and src.crs is not None else None
        transform = src.transform if crs is not None else Affine.identity()
        full = Window(0, 0, src.width, src.height)
        if bbox is not None and crs is None:
            raise ToolInputError(
                f"Image {scene.id} is not georeferenced, so a geographic AOI cannot be applied.",
                hint="Call the tool without bbox to analyse the whole image.",
            )
        if bbox is None:
            window = full
        else:
            left, bottom, right, top = transform_bounds("EPSG:4326", crs, *bbox, densify_pts=21)
            window = from_bounds(left, bottom, right, top, transform=transform)
            window = window.round_offsets(op="floor").round_lengths(op="ceil")
            try:
                # A mosaic's parts extend beyond its first part's file: its grid is the whole AOI.
                window = window if scene.properties.get("geovigie:parts") else window.intersection(full)
            except Exception as exc:  # rasterio raises WindowError when disjoint
                raise NoDataError(
                    f"The area {bbox} is outside scene {scene.id} (footprint {scene.bbox}).",
                    hint="Search imagery that covers this area, or move the AOI inside the footprint.",
                ) from exc
            if window.width < 1 or window.height < 1:
                raise NoDataError(
                    f"The area {bbox} is outside scene {scene.id}.",
                    hint="Search imagery that covers this area.",
                )
    grid = Grid(crs=crs, transform=transform, width=src.width, height=src.height).subgrid(window)
    if bbox is not None and crs is not None and not crs.is_geographic:
        # A lon/lat box is not a rectangle in UTM: pixels of the window outside it are masked when read.
        grid = grid.with_aoi(bbox)
    if max_pixels is not None and grid.width * grid.height > max_pixels:
        raise ToolInputError(
            f"The request covers {grid.width}x{grid.height} pixels, over the limit of {max_pixels:,}.",
            hint="Use a smaller area of interest (bbox) or raise GEOVIGIE_MAX_PIXELS.",
        )
    return grid


def _same_grid(src: DatasetReader, grid: Grid) -> bool:
    if grid.crs is None:
        return True
    if src.crs != grid.crs:
        return False
    st, gt = src.transform, grid.transform
    if not (math.isclose(st.a, gt.a, rel_tol=1e-9) and math.isclose(st.e, gt.e, rel_tol=1e-9)):
        return False
    col = (gt.c - st.c) / st.a
    row = (gt.f - st.f) / st.e
    return abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6


def _read_into(
    src: DatasetReader, ref: BandRef, grid: Grid, resampling: Resampling, out: np.ndarray, rad: Radiometry
) -> None:
    """Read one band of an open dataset onto ``grid``, into the float32 array ``out`` (NaN = no data).

    Values are multiplied by ``rad.scale`` (when given), then ``rad.offset`` is added.
    """
    _read_scaled(src, ref, grid, resampling, out, rad.scale)
    if rad.offset:
        out += np.float32(rad.offset)
    if rad.to_db:
        bad = ~(out > 0)  # NaN (no data) and non-positive power have no dB value
        np.log10(out, out=out, where=~bad)
        out *= np.float32(10.0)
        out[bad] = np.nan


def _read_scaled(
    src: DatasetReader, ref: BandRef, grid: Grid, resampling: Resampling, out: np.ndarray, scale: float | None
) -> None:
    file_nodata = src.nodatavals[ref.index - 1] if src.nodatavals else None
    nodata = file_nodata if file_nodata is not None else ref.nodata
    factor = np.float32(scale) if scale is not None else None
    if _same_grid(src, grid):
        if grid.crs is None:
            window = Window(grid.transform.c, grid.transform.f, grid.width, grid.height)
        else:
            window = from_bounds(*grid.bounds, transform=src.transform).round_offsets().round_lengths()
        outside = _outside_mask(window, src.width, src.height)
        # A boundless read goes through a VRT (~20 ms a call): only pay for it when the window sticks out.
        # rasterio also writes fill_value over masked pixels (an extra pass): a no-op when the only mask is the
        # nodata value itself, so it is skipped then.
        masks = src.mask_flag_enums[ref.index - 1]
        plain = MaskFlags.per_dataset not in masks and MaskFlags.alpha not in masks
        fill = None if outside is None and plain else nodata if nodata is not None else 0
        if fill is None and np.can_cast(src.dtypes[ref.index - 1], np.float32):
            _read_exact(src, ref.index, window, nodata, factor, out)
            return
        arr = src.read(ref.index, window=window, boundless=outside is not None, fill_value=fill, masked=False)
        if factor is not None and np.can_cast(arr.dtype, np.float32):
            # One pass: the float32 product is exactly float32(value) * float32(scale), as in two steps.
            np.multiply(arr, factor, out=out, casting="unsafe")
        else:
            out[...] = arr
            if factor is not None:
                out *= factor
        if nodata is not None:
            np.copyto(out, np.float32(np.nan), where=arr == nodata)
        if outside is not None:
            out[outside] = np.nan
        return
    with WarpedVRT(
        src,
        crs=grid.crs,
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=resampling,
        src_nodata=nodata,
        nodata=np.nan,
        dtype="float32",
    ) as vrt:
        vrt.read(ref.index, out=out)
    if factor is not None:
        out *= factor


def _read_exact(
    src: DatasetReader, index: int, window: Window, nodata: float | None, factor: np.float32 | None, out: np.ndarray
) -> None:
    """A window inside the file, of a type float32 holds exactly (8/16-bit integers, float32), into ``out``.

    GDAL converts while reading (no native-type copy), nodata is found on the converted values (exact, so the
    same pixels) and the scale applied in place: the same float32 values as converting then scaling, ~20 %
    faster.
    """
    src.read(index, window=window, out=out)
    if nodata is not None:
        np.copyto(out, np.float32(np.nan), where=out == np.float32(nodata))
    if factor is not None:
        out *= factor


def _outside_mask(window: Window, width: int, height: int) -> np.ndarray | None:
    r0, c0 = int(window.row_off), int(window.col_off)
    h, w = int(window.height), int(window.width)
    if r0 >= 0 and c0 >= 0 and r0 + h <= height and c0 + w <= width:
        return None
    rows = np.arange(r0, r0 + h)
    cols = np.arange(c0, c0 + w)
    return ((rows < 0) | (rows >= height))[:, None] | ((cols < 0) | (cols >= width))[None, :]


def read_bands(
    scene: Scene,
    bands: Sequence[str],
    grid: Grid,
    *,
    resampling: Resampling = Resampling.bilinear,
    datasets: DatasetCache | None = None,
) -> RasterData:
    """Read bands of a scene onto a grid (windowed; warped when the scene's grid differs).

    Args:
        scene: The scene to read.
        bands: Band names (common names such as ``red``/``nir`` or ids such as ``B04``).
        grid: Target grid (from :func:`scene_grid`, possibly of another scene: co-registration).
        resampling: Resampling used when warping.
        datasets: Open handles to reuse (tiled runs); None opens and closes each file here.

    Raises:
        ToolInputError: a band is missing, or two non-georeferenced images have different sizes.
        NoDataError: nothing valid in the window.
    """
    if parts_of(scene):

        def read_part(part: Scene) -> np.ndarray:
            return read_bands(part, bands, grid, resampling=resampling, datasets=datasets).data

        data = read_mosaic(scene, len(bands), grid, read_part)
        return RasterData(data=data, band_names=list(bands), grid=grid, scene=scene)
    refs = [scene.require_band(b) for b in bands]
    if grid.crs is None:
        _check_plain_size(scene, refs[0], grid)
    data = np.empty((len(refs), grid.height, grid.width), np.float32)
    # One open per file, not per band: tiled runs read many small windows, and an open costs ~5 ms.
    by_file: dict[str, list[int]] = {}
    for i, ref in enumerate(refs):
        by_file.setdefault(ref.href, []).append(i)
    probe = _probe_band(scene)
    probe_href = readable_href(scene.item, probe.href) if probe is not None else None
    with remote_env(scene.item):
        for href, indices in by_file.items():
            readable = readable_href(scene.item, href)
            with cached_or_open(readable, datasets) as full:
                level = check_read_budget(full, grid, scene_id=scene.id, band=refs[indices[0]].index)
                with at_overview(full, readable, level) as src:
                    for i in indices:
                        rad = radiometry_of(scene.item, refs[i], probe, probe_href)
                        how = Resampling.nearest if refs[i].is_class else resampling
                        _read_into(src, refs[i], grid, how, data[i], rad)
    if grid.aoi is not None:
        outside = outside_aoi(grid)
        if outside is not None:
            data[:, outside] = np.nan
    raster = RasterData(data=data, band_names=list(bands), grid=grid, scene=scene)
    if data.size and not raster.valid.any():
        raise NoDataError(
            f"Scene {scene.id} has no valid pixels in the requested area (all nodata).",
            hint="Choose another scene or move the area of interest onto the imaged part.",
        )
    return raster


def _probe_band(scene: Scene) -> BandRef | None:
    """The band on which a remote scene's offset is checked against pixel values (a visible one)."""
    if not scene.remote_api:
        return None
    for name in ("blue", "green", "red"):
        band = scene.find_band(name)
        if band is not None:
            return band
    return None


def _check_plain_size(scene: Scene, ref: BandRef, grid: Grid) -> None:
    with open_raster(ref.href) as src:
        fits = grid.transform.c + grid.width <= src.width and grid.transform.f + grid.height <= src.height
        if not fits:
            raise ToolInputError(
                f"Image {scene.id} is {src.width}x{src.height} px and has no georeferencing, so it cannot be "
                f"aligned with a {grid.width}x{grid.height} px image.",
                hint="Compare images of identical size, or use georeferenced GeoTIFFs.",
            )


def read_aoi(scene: Scene, bands: Sequence[str], bbox: BBox | None, *, max_pixels: int | None = None) -> RasterData:
    """Read bands of a scene over an AOI on the scene's own (finest requested band) grid."""
    grid = scene_grid(scene, bbox, bands=bands, max_pixels=max_pixels)
    return read_bands(scene, bands, grid)
