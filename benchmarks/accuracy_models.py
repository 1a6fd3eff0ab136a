"""Learned models beside the classical methods on the same labelled samples (``python -m benchmarks.accuracy_models``).

* **TinyCD (LEVIR-CD weights) vs classical generic CVA** — LEVIR-CD (11 pairs; the 7 ``test_*`` crops are LEVIR's
  test split, the others its train/val split, i.e. seen in training) and DSIFN-CD (10 pairs, all land-cover
  change: outside what TinyCD learned). Pooled F1 over the pairs, 0.5 m, threshold 0.5, nothing tuned.
* **YOLOv8n-OBB (DOTA) vs classical** — DOTA P0706 ships and P1888 vehicles (both images have public labels, so
  they were probably in the model's training data: optimistic). Matching as in ``accuracy_count`` (a prediction
  whose centre lies in an unmatched truth box) for both columns, plus rotated IoU >= 0.5 for the model.
* **AID presence** — share of the 40 images of a class where the detector finds at least one object of the
  matching DOTA class (150 px images upsampled 4x, as they were 600 px originally), and false alarms on natural
  scenes. AID was never used to train or tune anything here: held out.
* **Cloud/shadow (ukis-csmask, optional)** — Sen1Floods11 Spain chip: share of the hand-labelled flood water called
  cloud shadow when the U-Net runs at ~30 m (block mean x3, how the tool runs it) vs directly at 10 m; eo-learn
  Slovenia: pixel agreement with eo-learn's cloud mask ``CLM`` on the 5 dates (0 % or 100 % cloudy: a weak test),
  next to s2cloudless through ``segment``.
* **Performance** — model inference on a generated 3072² scene: seconds per Mpx and peak memory (tile-bounded).
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from PIL import Image
from shapely.geometry import Polygon

from benchmarks.accuracy_change import Counts, plain_scene, predict
from benchmarks.accuracy_count import _dota_boxes, match_boxes
from geovigie.core.settings import Settings
from geovigie.tools.models import TINYCD_LEVIR, YOLO_DOTA_OBB, ChangeModel, OrientedDetector, polygons

AID_PRESENCE = {"StorageTanks": "storage_tank", "Airport": "plane", "Port": "ship", "Parking": "small_vehicle"}
AID_NATURAL = ("Forest", "Desert", "Mountain", "Meadow", "Beach", "BareLand")


def _rgb01(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), np.float32).transpose(2, 0, 1) / 255


def change_rows(data_dir: Path, settings: Settings) -> list[dict[str, Any]]:
    """TinyCD and classical pooled F1 on LEVIR-CD (all, test split) and DSIFN-CD."""
    model = ChangeModel.from_settings(TINYCD_LEVIR, settings)
    rows = []
    for folder, dataset in (("levir_cd_samples", "LEVIR-CD"), ("dsifn_cd_samples", "DSIFN-CD")):
        learned, classical, learned_test, classical_test = Counts(), Counts(), Counts(), Counts()
        pairs = sorted((data_dir / folder / "A").glob("*.png"))
        for a_path in pairs:
            label = next((data_dir / folder / "label").glob(a_path.stem + ".*"))
            truth = np.asarray(Image.open(label).convert("L")) > 127
            b_path = data_dir / folder / "B" / a_path.name
            pred = model.probability(_rgb01(a_path), _rgb01(b_path)) > model.threshold
            rgb = ["red", "green", "blue"]
            classic = predict(plain_scene(a_path, f"{a_path.stem}-A", rgb, 0.5),
                              plain_scene(b_path, f"{a_path.stem}-B", rgb, 0.5), "generic")  # fmt: skip
            learned.add(pred, truth)
            classical.add(classic, truth)
            if a_path.name.startswith("test"):
                learned_test.add(pred, truth)
                classical_test.add(classic, truth)
        rows.append(_change_row(dataset, f"pooled ({len(pairs)} pairs)", classical, learned))
        if learned_test.tp + learned_test.fn:
            n = sum(p.name.startswith("test") for p in pairs)
            rows.append(_change_row(dataset, f"pooled, test split ({n} pairs)", classical_test, learned_test))
    return rows


def _change_row(dataset: str, item: str, classical: Counts, learned: Counts) -> dict[str, Any]:
    return {"dataset": dataset, "item": item, "classical_f1": round(classical.f1, 3), "model": TINYCD_LEVIR.name,
            "model_f1": round(learned.f1, 3), "model_precision": round(learned.precision, 3),
            "model_recall": round(learned.recall, 3)}  # fmt: skip


def _rotated_truth(path: Path, classes: set[str]) -> list[Polygon]:
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 9 and parts[8] in classes:
            out.append(Polygon(np.array(parts[:8], float).reshape(4, 2)))
    return out


def _iou_matches(pred: np.ndarray, truth: list[Polygon], scores: list[float]) -> int:
    used: set[int] = set()
    for p in sorted(range(len(pred)), key=lambda i: -scores[i]):
        best, best_iou = -1, 0.5
        for j, q in enumerate(truth):
            if j in used:
                continue
            inter = float(shapely.area(shapely.intersection(pred[p], q)))
            iou = inter / (float(shapely.area(pred[p])) + q.area - inter)
            if iou >= best_iou:
                best, best_iou = j, iou
        if best >= 0:
            used.add(best)
    return len(used)


def detection_rows(data_dir: Path, settings: Settings, classical: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """YOLO-OBB on DOTA P0706 ships and P1888 vehicles, next to the classical rows of ``accuracy_count``."""
    detector = OrientedDetector.from_settings(YOLO_DOTA_OBB, settings)
    vehicles = ({"small_vehicle", "large_vehicle"}, {"small-vehicle", "large-vehicle"})
    cases = (("DOTA ships", "P0706", {"ship"}, {"ship"}), ("DOTA vehicles", "P1888", *vehicles))
    rows = []
    for dataset, image, classes, labels in cases:
        rgb = np.asarray(Image.open(data_dir / "dota_samples/images" / f"{image}.png").convert("RGB"))
        start = time.perf_counter()
        boxes = detector.detect(rgb, classes=classes)
        elapsed = time.perf_counter() - start
        label_path = data_dir / "dota_samples/labelTxt" / f"{image}.txt"
        truth = _dota_boxes(label_path, labels)
        tp = match_boxes([b.bounds() for b in boxes], truth)
        tp_iou = _iou_matches(polygons(boxes), _rotated_truth(label_path, labels), [b.score for b in boxes])
        ref = classical.get(dataset, {})
        rows.append({"dataset": dataset, "image": image, "truth": len(truth), "model": YOLO_DOTA_OBB.name,
                     "model_count": len(boxes), "model_f1": round(2 * tp / (len(boxes) + len(truth)), 3),
                     "model_f1_iou50": round(2 * tp_iou / (len(boxes) + len(truth)), 3),
                     "model_count_error": round(abs(len(boxes) - len(truth)) / len(truth), 3),
                     "classical_count": ref.get("predicted"), "classical_f1": ref.get("f1"),
                     "seconds": round(elapsed, 2)})  # fmt: skip
    return rows


def aid_rows(data_dir: Path, settings: Settings) -> list[dict[str, Any]]:
    """Presence rates per AID class for the detector (150 px images upsampled 4x)."""
    detector = OrientedDetector.from_settings(YOLO_DOTA_OBB, settings)
    rows = []
    wanted = [*AID_PRESENCE.items(), *((c, "any") for c in AID_NATURAL)]
    for scene_class, obj in wanted:
        images = sorted((data_dir / "aid_scene_150px" / scene_class).glob("*.jpg"))
        hits = 0
        for path in images:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            boxes = detector.detect(rgb, classes=None if obj == "any" else {obj}, upsample=4.0)
            hits += bool(boxes)
        kind = "presence" if obj != "any" else "false alarm (any class)"
        rows.append({"aid_class": scene_class, "object": obj, "kind": kind, "images": len(images),
                     "rate": round(hits / max(1, len(images)), 3)})  # fmt: skip
    return rows


def cloud_rows(data_dir: Path) -> list[dict[str, Any]]:
    """ukis-csmask at 30 m vs 10 m on flood water; cloud agreement with eo-learn's CLM (when installed)."""
    import json

    import rasterio

    from geovigie.tools.models import CSMASK_6B, cloud_shadow, csmask_available

    if not csmask_available():
        return []
    rows = []
    chip = data_dir / "sen1floods11_sample" / "Spain_7370579_S2Hand.tif"
    with rasterio.open(chip) as src:
        data = src.read().astype(np.float32) / 10_000
    with rasterio.open(chip.with_name("Spain_7370579_LabelHand.tif")) as src:
        water = src.read(1) == 1
    bands = {name: data[i] for name, i in zip(CSMASK_6B.bands, (1, 2, 3, 7, 11, 12), strict=True)}
    for label, px in (("~30 m (block mean x3)", 10.0), ("10 m (no averaging)", 30.0)):
        out = cloud_shadow(bands, pixel_size_m=px, level="l1c")
        rows.append({"data": "Sen1Floods11 Spain flood water", "run_at": label,
                     "metric": "water called shadow", "value": round(float(out.shadow[water].mean()), 3)})  # fmt: skip
    root = data_dir / "eolearn_slovenia_s2"
    clm = np.load(root / "original" / "CLM.npy")[..., 0].astype(bool)
    stamps = [t[:10].replace("-", "") for t in json.loads((root / "original" / "timestamps.json").read_text())]
    agree = []
    for path in sorted(root.glob("S2_L1C_*.tif")):
        with rasterio.open(path) as src:
            scene = src.read().astype(np.float32) / 10_000
        b = {name: scene[i] for name, i in zip(CSMASK_6B.bands, (1, 2, 3, 7, 11, 12), strict=True)}
        out = cloud_shadow(b, pixel_size_m=10.0, level="l1c")
        ref = clm[stamps.index(path.stem.split("_")[-1])]
        agree.append(float(((out.cloud | out.shadow) == ref).mean()))
    rows.append({"data": f"eo-learn Slovenia, {len(agree)} dates", "run_at": "~30 m",
                 "metric": "pixel agreement with CLM (mean)", "value": round(float(np.mean(agree)), 3)})  # fmt: skip
    return rows


def perf_rows(settings: Settings, side: int = 3072) -> list[dict[str, Any]]:
    """Inference time per Mpx and peak memory on a generated scene (textured noise with bright blobs)."""
    rng = np.random.default_rng(0)
    base = rng.integers(60, 120, size=(side, side, 3), dtype=np.uint8)
    for _ in range(400):
        y, x = rng.integers(0, side - 20, size=2)
        base[y : y + 8, x : x + 18] = 230
    rows = []
    detector = OrientedDetector.from_settings(YOLO_DOTA_OBB, settings)
    for name, run in (("yolov8n-obb-dota", lambda: detector.detect(base)),):
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows.append({"model": name, "scene_px": f"{side}x{side}", "s_per_mpx": round(elapsed / (side * side / 1e6), 2),
                     "peak_rss_growth_mb": round((rss1 - rss0) / 1024, 1),
                     "scene_mb": round(base.nbytes / 2**20, 1)})  # fmt: skip
    model = ChangeModel.from_settings(TINYCD_LEVIR, settings)
    tile = rng.random((2, 3, 512, 512), dtype=np.float32)
    start = time.perf_counter()
    for _ in range(4):
        model.probability(tile[0], tile[1])
    elapsed = (time.perf_counter() - start) / 4
    rows.append({"model": TINYCD_LEVIR.name, "scene_px": "512x512 pair", "s_per_mpx": round(elapsed / 0.262144, 2),
                 "peak_rss_growth_mb": None, "scene_mb": None})  # fmt: skip
    return rows


def run(data_dir: Path, classical_count: list[dict[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every learned-vs-classical row (empty lists where weights or data are absent)."""
    settings = Settings()
    by_dataset = {r["dataset"]: r for r in classical_count or [] if "dataset" in r}
    out: dict[str, list[dict[str, Any]]] = {"change": [], "detection": [], "aid": [], "cloud": [], "perf": []}
    if not settings.models_dir.is_dir():
        return out
    out["change"] = change_rows(data_dir, settings)
    out["detection"] = detection_rows(data_dir, settings, by_dataset)
    out["aid"] = aid_rows(data_dir, settings)
    out["cloud"] = cloud_rows(data_dir)
    with tempfile.TemporaryDirectory():
        out["perf"] = perf_rows(settings)
    return out


def markdown(result: dict[str, list[dict[str, Any]]]) -> str:
    """Tables of the rows."""
    parts = []
    for name, rows in result.items():
        if not rows:
            continue
        keys = list(rows[0])
        lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        lines += ["| " + " | ".join("" if r.get(k) is None else str(r.get(k)) for k in keys) + " |" for r in rows]
        parts.append(f"#### {name}\n\n" + "\n".join(lines))
    return "\n\n".join(parts)


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Settings().data_dir
    print(markdown(run(root)))
