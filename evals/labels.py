"""Ground truth on the artifact's grid: label rasters (resampled, nearest) and object boxes in pixel coordinates.

Labels often carry no georeferencing of their own (OSCD ``cm/*-cm.tif``, LEVIR/DSIFN PNGs) but share the pixel
grid of a source image: :class:`~geovigie.evals.schema.Align` names that image (``same_grid_as``, a path) or catalog
item (``same_grid_as_item``), whose transform and CRS the label then borrows. A georeferenced label needs no
alignment. Plain images on both sides (no CRS) are compared in pixel space.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import Resampling, reproject

from geovigie.core.db.store import Database
from geovigie.evals.loader import resolve_data_path
from geovigie.evals.schema import Align, BoxesRef

OUTSIDE = -2_147_483_647
"""Label value of artifact pixels the label does not cover (always ignored)."""

_PIXEL_SPACE = CRS.from_epsg(3857)
"""Stand-in CRS for pixel-space grids, so that rasterio can resample plain images onto each other."""

Box = tuple[float, float, float, float]


class EvalDataError(Exception):
    """Ground truth that cannot be read or aligned (reported as the case's error)."""


@dataclass(frozen=True)
class GridRef:
    """A raster grid: CRS (None = pixel space), transform, shape (height, width)."""

    crs: CRS | None
    transform: Affine
    shape: tuple[int, int]


@dataclass(frozen=True)
class RasterOnGrid:
    """A single-band raster and its grid."""

    data: np.ndarray
    grid: GridRef
    nodata: float | None


def read_raster(path: Path) -> RasterOnGrid:
    """Band 1 of a raster with its grid (plain images get an identity transform and no CRS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            data = src.read(1)
            crs = src.crs
            transform = src.transform if crs is not None else Affine.identity()
            nodata = src.nodata
    return RasterOnGrid(data=data, grid=GridRef(crs=crs, transform=transform, shape=data.shape), nodata=nodata)


def reference_grid(align: Align, root: Path, db: Database | None) -> GridRef | None:
    """The grid a non-georeferenced label shares (None when ``align`` names nothing).

    Raises:
        EvalDataError: the reference is absent or ambiguous.
    """
    if align.same_grid_as:
        path = resolve_data_path(root, align.same_grid_as)
        if path is None:
            raise EvalDataError(f"alignment reference {align.same_grid_as!r} not found (or ambiguous) in {root}")
        return read_raster(path).grid
    if align.same_grid_as_item:
        if db is None:
            raise EvalDataError("same_grid_as_item needs the run's catalog")
        from geovigie.tools.catalog import get_scene
        from geovigie.tools.raster import scene_grid

        try:
            grid = scene_grid(get_scene(db, align.same_grid_as_item), None)
        except Exception as exc:  # typed tool errors or unreadable files: the truth cannot be aligned
            raise EvalDataError(f"alignment item {align.same_grid_as_item!r}: {exc}") from exc
        return GridRef(crs=grid.crs, transform=grid.transform, shape=grid.shape)
    return None


def label_on_grid(label: RasterOnGrid, reference: GridRef | None, target: GridRef) -> np.ndarray:
    """The label resampled (nearest) onto ``target``; pixels it does not cover hold :data:`OUTSIDE`.

    Raises:
        EvalDataError: the label and its reference differ in size, or one side is georeferenced and the
            other is not.
    """
    source = label.grid
    if reference is not None:
        if reference.shape != source.shape:
            raise EvalDataError(f"label is {source.shape} px but its reference grid is {reference.shape} px")
        source = reference
    if (source.crs is None) != (target.crs is None):
        raise EvalDataError("cannot align a georeferenced grid with a plain (pixel) grid")
    src_crs, dst_crs = (source.crs, target.crs) if source.crs is not None else (_PIXEL_SPACE, _PIXEL_SPACE)
    if source.crs == target.crs and source.transform == target.transform and source.shape == target.shape:
        return label.data.astype(np.int64)
    out = np.full(target.shape, OUTSIDE, dtype=np.int32)
    reproject(
        source=label.data.astype(np.int32),
        destination=out,
        src_transform=source.transform,
        src_crs=src_crs,
        dst_transform=target.transform,
        dst_crs=dst_crs,
        src_nodata=OUTSIDE,
        dst_nodata=OUTSIDE,
        resampling=Resampling.nearest,
    )
    return out.astype(np.int64)


# --- boxes ----------------------------------------------------------------------------------------------------


def _keep(name: str | None, classes: Sequence[str]) -> bool:
    return not classes or (name is not None and name.strip().lower() in {c.lower() for c in classes})


def _csv_boxes(path: Path, classes: list[str]) -> list[Box]:
    out: list[Box] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            low = {k.strip().lower(): v for k, v in row.items() if k}
            if _keep(low.get("label") or low.get("class"), classes):
                out.append(tuple(float(low[k]) for k in ("xmin", "ymin", "xmax", "ymax")))  # type: ignore[arg-type]
    return out


def _voc_boxes(path: Path, classes: list[str]) -> list[Box]:
    out: list[Box] = []
    for obj in ET.parse(path).getroot().iter("object"):
        if _keep(obj.findtext("name"), classes):
            x0, y0, x1, y1 = (float(obj.findtext(f"bndbox/{k}") or 0) for k in ("xmin", "ymin", "xmax", "ymax"))
            out.append((x0, y0, x1, y1))
    return out


def _dota_boxes(path: Path, classes: list[str]) -> list[Box]:
    out: list[Box] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 9 and _keep(parts[8], classes):
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            out.append((min(xs), min(ys), max(xs), max(ys)))
    return out


def _yolo_boxes(path: Path, classes: list[str], shape: tuple[int, int]) -> list[Box]:
    height, width = shape
    out: list[Box] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 5 and _keep(parts[0], classes):
            cx, cy, w, h = (float(v) for v in parts[1:5])
            out.append(((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height))
    return out


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _collection_crs(collection: dict[str, Any]) -> str:
    name = str(((collection.get("crs") or {}).get("properties") or {}).get("name", ""))
    match = re.search(r"EPSG:+(\d+)", name)
    if match:
        return f"EPSG:{match.group(1)}"
    return str((collection.get("properties") or {}).get("crs") or "EPSG:4326")


def geojson_pixel_boxes(
    collection: dict[str, Any], reference: GridRef | None, classes: Sequence[str] = ()
) -> list[Box]:
    """Bounding boxes of a GeoJSON's polygons, in the reference grid's pixel coordinates.

    Coordinates are taken as pixels when the collection says ``"crs": "pixel"`` (GeoVigie's plain-image output),
    else in the CRS its ``crs`` member names (EPSG:4326 by default) and projected onto ``reference``.

    Raises:
        EvalDataError: geographic coordinates without a georeferenced reference grid.
    """
    crs = _collection_crs(collection)
    to_px = None
    if crs != "pixel":
        if reference is None or reference.crs is None:
            raise EvalDataError("geographic boxes need a georeferenced reference image (truth.align)")
        project = Transformer.from_crs(crs, reference.crs, always_xy=True).transform
        inverse = ~reference.transform

        def to_px(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ex, ny = project(xs, ys)
            return inverse @ (np.asarray(ex), np.asarray(ny))  # type: ignore[no-any-return]

    out: list[Box] = []
    for feature in collection.get("features", []):
        props = feature.get("properties") or {}
        if classes and not _keep(props.get("class") or props.get("label") or props.get("object"), classes):
            continue
        for ring in _rings(feature.get("geometry") or {"type": "None"}):
            arr = np.asarray(ring, dtype=float)
            xs, ys = (arr[:, 0], arr[:, 1]) if to_px is None else to_px(arr[:, 0], arr[:, 1])
            out.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    return out


def read_boxes(ref: BoxesRef, root: Path, reference: GridRef | None) -> list[Box]:
    """Labelled boxes in pixel coordinates of the reference image.

    Raises:
        EvalDataError: the file is absent or unreadable.
    """
    path = resolve_data_path(root, ref.path)
    if path is None:
        raise EvalDataError(f"boxes file {ref.path!r} not found in {root}")
    try:
        if ref.format == "csv":
            return _csv_boxes(path, ref.classes)
        if ref.format == "voc":
            return _voc_boxes(path, ref.classes)
        if ref.format == "dota":
            return _dota_boxes(path, ref.classes)
        if ref.format == "yolo":
            if reference is None:
                raise EvalDataError("YOLO boxes need the image size (truth.align.same_grid_as)")
            return _yolo_boxes(path, ref.classes, reference.shape)
        return geojson_pixel_boxes(json.loads(path.read_text(encoding="utf-8")), reference, ref.classes)
    except (OSError, ValueError, KeyError, ET.ParseError) as exc:
        raise EvalDataError(f"cannot read boxes {ref.path}: {type(exc).__name__}: {exc}") from exc


def match_boxes(predicted: list[Box], truth: list[Box]) -> int:
    """True positives: a prediction whose centre lies in a not yet matched truth box (nearest centre first).

    Centre-in-box is lenient for large boxes; it matches :mod:`benchmarks.accuracy_count`.
    """
    used: set[int] = set()
    for x0, y0, x1, y1 in predicted:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        best, best_d = None, float("inf")
        for i, (tx0, ty0, tx1, ty1) in enumerate(truth):
            if i in used or not (tx0 <= cx <= tx1 and ty0 <= cy <= ty1):
                continue
            d = (cx - (tx0 + tx1) / 2) ** 2 + (cy - (ty0 + ty1) / 2) ** 2
            if d < best_d:
                best, best_d = i, d
        if best is not None:
            used.add(best)
    return len(used)
