"""Accuracy of the ``count_objects`` tool on labelled samples: counts and box detection quality.

Datasets (``Settings().data_dir``, see its SOURCES.md):

* **NEON trees** (DeepForest samples, 0.1 m RGB): ``OSBS_029.tif`` (61 boxes, csv), the SJER ``..._477.tif``
  (the truth csv holds 7 boxes, columns xmin, xmax, ymin, ymax), the YELL crop PNG (279 boxes, VOC xml) and
  ``SOAP_061.png`` (37 boxes, of which 28 dead trees). The PNGs have no georeferencing: the tool takes their
  0.1 m pixel size from the catalog (the ingest knows NEON's GSD).
* **DOTA ships**: P0706 (0.256 m), the 531 ``ship`` lines of its labelTxt (harbours excluded).
* **DOTA vehicles**: P1888 (0.266 m), 50 ``large-vehicle`` + 14 ``small-vehicle`` = 64.
* **SpaceNet buildings**: ``sample_geotiff.tif`` (0.5 m pan, Atlanta), the 43 footprints of
  ``geotiff_labels.geojson``.
* **Sen1Floods11 water bodies** (count of connected water areas, not objects): the ``Spain_7370579`` S2 chip;
  truth = 8-connected components of ``LabelHand == 1`` with the tool's own size floor (>= 100 m², at least
  4 px), predicted = the tool's ``water_body`` count.

Everything runs through the real tool: the files are ingested into a temporary catalog
(:func:`geovigie.tools.catalog.ingest.ingest_paths`) and ``count_objects`` is called with default arguments. Detection
quality
(precision, recall, F1) comes from the tool's GeoJSON, mapped back to pixels (EPSG:4326 -> raster CRS ->
pixel for GeoTIFFs; pixel coordinates as written for PNGs): a detection matches a truth box when its centre
lies inside it (greedy, one-to-one). That criterion is lenient for large boxes; the counts do not depend on it.

**What was tuned, on what.** Tree parameters were chosen on OSBS_029 only, by detection F1 over a small grid
(smoothing, opening, seed spacing and depth, minimum crown size), then evaluated unchanged on SJER, YELL and
SOAP (held out). Ship parameters were set on P0706, vehicle parameters on P1888 and building parameters on
the SpaceNet sample: each is the only labelled image of its class here, so those rows are in-sample and
optimistic. The water mask (MNDWI + Otsu) is the segment tool's, not tuned for counting. Every parameter is
physical (metres, m²) and converted with the pixel size; none is set per image.
"""

from __future__ import annotations

import csv
import json
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from pyproj import Transformer
from scipy import ndimage as ndi

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import ingest_paths
from geovigie.tools.count import count_objects

Box = tuple[float, float, float, float]
NEON = "deepforest_neon_trees"
SPAIN = "sen1floods11_sample/Spain_7370579_S2Hand.tif"
SPAIN_LABEL = "sen1floods11_sample/Spain_7370579_LabelHand.tif"


def _csv_boxes(path: Path) -> list[Box]:
    with path.open() as fh:
        return [(float(r["xmin"]), float(r["ymin"]), float(r["xmax"]), float(r["ymax"])) for r in csv.DictReader(fh)]


def _voc_boxes(path: Path) -> list[Box]:
    out: list[Box] = []
    for obj in ET.parse(path).getroot().iter("object"):
        x0, y0, x1, y1 = (float(obj.findtext(f"bndbox/{k}") or 0) for k in ("xmin", "ymin", "xmax", "ymax"))
        out.append((x0, y0, x1, y1))
    return out


def _dota_boxes(path: Path, classes: set[str]) -> list[Box]:
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 9 and parts[8] in classes:
            xs, ys = [float(v) for v in parts[0:8:2]], [float(v) for v in parts[1:8:2]]
            out.append((min(xs), min(ys), max(xs), max(ys)))
    return out


def _spacenet_boxes(data_dir: Path) -> list[Box]:
    folder = data_dir / "spacenet_solaris_samples"
    with rasterio.open(folder / "sample_geotiff.tif") as src:
        inverse = ~src.transform
    collection = json.loads((folder / "geotiff_labels.geojson").read_text())
    out = []
    for feature in collection["features"]:
        coords = np.asarray(_outer_rings(feature["geometry"]), dtype=float)
        cols, rows = inverse * (coords[:, 0], coords[:, 1])
        out.append((float(np.min(cols)), float(np.min(rows)), float(np.max(cols)), float(np.max(rows))))
    return out


def _outer_rings(geometry: dict[str, Any]) -> list[list[float]]:
    if geometry["type"] == "Polygon":
        return [c[:2] for c in geometry["coordinates"][0]]
    return [c[:2] for poly in geometry["coordinates"] for c in poly[0]]


CASES: list[tuple[str, str, str, Callable[[Path], list[Box]]]] = [
    ("NEON trees", f"{NEON}/OSBS_029.tif", "tree", lambda d: _csv_boxes(d / NEON / "OSBS_029.csv")),
    (
        "NEON trees",
        f"{NEON}/2018_SJER_3_252000_4107000_image_477.tif",
        "tree",
        lambda d: _csv_boxes(d / NEON / "2018_SJER_3_252000_4107000_image_477_truth.csv"),
    ),
    (
        "NEON trees",
        f"{NEON}/2019_YELL_2_541000_4977000_image_crop.png",
        "tree",
        lambda d: _voc_boxes(d / NEON / "2019_YELL_2_541000_4977000_image_crop.xml"),
    ),
    ("NEON trees", f"{NEON}/SOAP_061.png", "tree", lambda d: _voc_boxes(d / NEON / "SOAP_061.xml")),
    (
        "DOTA ships",
        "dota_samples/images/P0706.png",
        "ship",
        lambda d: _dota_boxes(d / "dota_samples/labelTxt/P0706.txt", {"ship"}),
    ),
    (
        "DOTA vehicles",
        "dota_samples/images/P1888.png",
        "vehicle",
        lambda d: _dota_boxes(d / "dota_samples/labelTxt/P1888.txt", {"small-vehicle", "large-vehicle"}),
    ),
    ("SpaceNet buildings", "spacenet_solaris_samples/sample_geotiff.tif", "building", _spacenet_boxes),
]
"""(dataset, image path under data_dir, object, truth boxes loader)."""


def match_boxes(predicted: list[Box], truth: list[Box]) -> int:
    """True positives: each prediction whose centre lies in a not yet matched truth box (nearest centre wins)."""
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


def predicted_pixel_boxes(collection: dict[str, Any], image: Path) -> list[Box]:
    """Boxes of the tool's GeoJSON in the image's pixel coordinates."""
    georef = collection["properties"]["crs"] != "pixel"
    to_px: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    if georef:
        with rasterio.open(image) as src:
            inverse, crs = ~src.transform, src.crs
        project = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform

        def to_px(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ex, ny = project(x, y)
            return inverse * (np.asarray(ex), np.asarray(ny))  # type: ignore[no-any-return]

    out = []
    for feature in collection["features"]:
        ring = np.asarray(feature["geometry"]["coordinates"][0], dtype=float)
        xs, ys = ring[:, 0], ring[:, 1]
        if to_px is not None:
            xs, ys = to_px(xs, ys)
        out.append((float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())))
    return out


def _row(dataset: str, image: str, obj: str, truth: int, predicted: int, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "image",
        "dataset": dataset,
        "image": image,
        "object": obj,
        "truth": truth,
        "predicted": predicted,
        "abs_error": abs(predicted - truth),
        "rel_error": round((predicted - truth) / truth, 4) if truth else None,
        **extra,
    }


def _context(home: Path) -> ToolContext:
    settings = Settings(home=home, stac_api_urls=[], llm_base_url=None, _env_file=None)  # type: ignore[call-arg]
    return ToolContext.from_settings(settings)


def _item_for(ctx: ToolContext, path: Path) -> str:
    report = ingest_paths([path], ctx.db)
    ids = report.added + report.updated + report.unchanged
    if not ids:
        raise RuntimeError(f"ingest produced no item for {path}: {report.skipped}")
    return ids[0]


def object_rows(ctx: ToolContext, data_dir: Path) -> list[dict[str, Any]]:
    """One row per labelled object image."""
    rows = []
    for dataset, rel, obj, loader in CASES:
        image = data_dir / rel
        truth = loader(data_dir)
        start = time.perf_counter()
        out = count_objects.run({"item_id": _item_for(ctx, image), "object": obj}, ctx)
        seconds = time.perf_counter() - start
        collection = json.loads(Path(ctx.artifacts.path_of(out.result.geojson_artifact_id)).read_text())
        boxes = predicted_pixel_boxes(collection, image)
        tp = match_boxes(boxes, truth)
        precision = tp / len(boxes) if boxes else 0.0
        recall = tp / len(truth) if truth else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            _row(
                dataset, image.name, obj, len(truth), out.result.count,
                precision=round(precision, 3), recall=round(recall, 3), f1=round(f1, 3), seconds=round(seconds, 2),
            )
        )  # fmt: skip
    return rows


def water_row(ctx: ToolContext, data_dir: Path) -> dict[str, Any]:
    """Water-body count on the Sen1Floods11 chip against the hand label's components."""
    start = time.perf_counter()
    out = count_objects.run({"item_id": _item_for(ctx, data_dir / SPAIN), "object": "water_body"}, ctx)
    seconds = time.perf_counter() - start
    with rasterio.open(data_dir / SPAIN_LABEL) as src:
        label = src.read(1) == 1
    min_px = int(out.provenance.parameters["min_pixels"])
    radius = int(out.provenance.parameters["opening_radius_px"])
    if radius >= 1:
        label = ndi.binary_opening(label, structure=np.ones((2 * radius + 1,) * 2, dtype=bool))
    labels, n = ndi.label(label, structure=np.ones((3, 3), dtype=bool))
    truth = int((np.bincount(labels.ravel(), minlength=n + 1)[1:] >= min_px).sum())
    return _row("Sen1Floods11 water bodies", SPAIN.rsplit("/", 1)[-1], "water_body", truth, out.result.count,
                seconds=round(seconds, 2))  # fmt: skip


def summaries(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dataset: MAE (objects) and mean absolute relative error over its images."""
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        sel = [r for r in rows if r["dataset"] == dataset]
        rel = [abs(r["rel_error"]) for r in sel if r["rel_error"] is not None]
        f1 = [r["f1"] for r in sel if "f1" in r]
        out.append(
            {
                "kind": "summary",
                "dataset": dataset,
                "image": f"all ({len(sel)})",
                "object": sel[0]["object"],
                "truth": sum(r["truth"] for r in sel),
                "predicted": sum(r["predicted"] for r in sel),
                "abs_error": round(float(np.mean([r["abs_error"] for r in sel])), 2),
                "rel_error": round(float(np.mean(rel)), 4) if rel else None,
                "f1": round(float(np.mean(f1)), 3) if f1 else None,
            }
        )
    return out


def run(data_dir: Path) -> list[dict[str, Any]]:
    """Rows per image and per dataset (``kind`` = image or summary; summary abs_error = MAE, rel_error = mean |rel|)."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = _context(Path(tmp))
        rows = object_rows(ctx, data_dir)
        rows.append(water_row(ctx, data_dir))
    return rows + summaries(rows)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    cols = ["dataset", "image", "truth", "predicted", "abs_error", "rel_error", "precision", "recall", "f1", "seconds"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c)
            if c == "rel_error" and v is not None:
                v = f"{v:+.1%}" if r["kind"] == "image" else f"{v:.1%} (mean abs)"
            if c == "abs_error" and r["kind"] == "summary":
                v = f"MAE {v}"
            cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Settings().data_dir
    print(markdown(run(root)))
