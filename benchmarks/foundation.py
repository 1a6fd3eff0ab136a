"""What the Presto / Galileo nano embeddings add over raw bands: few-shot land cover, water, retrieval; speed, memory.

Run: ``nice -n 10 python -m benchmarks.foundation [presto|galileo_nano [patch]]`` (needs ``GEOVIGIE_DATA_DIR``,
``GEOVIGIE_MODELS_DIR`` and, the first time, torch to export the model to ONNX). Prints a Markdown table (the
README's). One model per run, so that the peak memory is that model's. Galileo nano runs at patch 4 (one vector
per 4 x 4 px, given to its pixels) on the same pixels and splits; BigEarthNet patches are read at 10 m for it
(120 x 120 px; Presto reads them at 20 m, 60 x 60, for time).

* **eo-learn Slovenia** (5 Sentinel-2 L1C dates of 2015, 101 x 100 px at 10 m, LULC reference; classes present:
  cultivated 11 px, forest 7 601, grassland 1 777, shrubland 358, artificial 198). Features per pixel: Presto
  embeddings of the 5-date series (T = 5) and of the first date alone (T = 1); raw bands (10 S2 bands, 5 dates
  stacked, and first date); indices (NDVI, NDWI, NDMI per date). Split: the grid is cut into 25 x 25 px blocks,
  4 folds of blocks; k labelled pixels per class are drawn from the training blocks (all of a class when it has
  fewer), the classifier (the tools' logistic regression) is tested on every labelled pixel of the held-out
  blocks. 5 draws per fold. Metrics: overall accuracy and macro F1 (the majority class, forest, is 76 %: accuracy
  alone rewards predicting forest).
* **Sen1Floods11 Spain_7370579** (S2 + S1, hand-labelled water): the central 256 x 256 px (embedding the whole
  512² takes minutes on 2 shared cores); k water / k not-water pixels drawn in the left half, F1 of water on the
  right half; embeddings (S1 + S2, one date) vs raw bands (+ NDVI) vs the MNDWI > 0 rule (no training).
* **BigEarthNet examples** (6 S2 L2A patches, 120 x 120 px, multi-label CORINE): each patch is the mean embedding
  (or mean raw bands) of its 10 m pixels, decimated x2; for each patch, the others ranked by cosine; precision@k =
  share of the top k that share at least one CORINE label with it. Six patches only: a smoke test, not a result.

Nothing was tuned on these numbers: the classifier settings are the tools' defaults, written before.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.enums
import rasterio.warp
import rasterio.windows

from geovigie.core.settings import Settings
from geovigie.tools.embed import (
    degrees_to_unit,
    embed_arrays,
    fit_logistic,
    from_arrays,
    galileo_normalisation,
    galileo_onnx,
    presto_onnx,
    run_pixels,
)
from geovigie.tools.models import session

S2 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
EOLEARN_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
DATES = ("20150711", "20150731", "20150820", "20150830", "20150909")
BLOCK = 25
KS = (5, 10, 50)


class Embedder:
    """Presto through onnxruntime, timed."""

    label = "Presto"
    patch_px = 60
    """Edge at which BigEarthNet patches are read (20 m: a pass per pixel is slow)."""

    def __init__(self, settings: Settings) -> None:
        self.sess = session(presto_onnx(settings), "cpu")
        self.seconds = 0.0
        self.pixels = 0

    def __call__(
        self, steps: list[dict[str, np.ndarray]], months: list[int], lat: float, lon: float, shape: tuple[int, int]
    ) -> np.ndarray:
        x, mask = from_arrays(steps)
        n = len(x)
        mo = np.tile(np.array(months, np.int64), (n, 1))
        ll = np.tile(np.array([degrees_to_unit(lat, lon)], np.float32), (n, 1))
        start = time.perf_counter()
        out = run_pixels(self.sess, x, mask, mo, ll, np.ones(n, bool))
        self.seconds += time.perf_counter() - start
        self.pixels += n
        return out


class GalileoEmbedder(Embedder):
    """Galileo nano through onnxruntime (square space-time tiles, one vector per patch), timed."""

    label = "Galileo nano"
    patch_px = 120

    def __init__(self, settings: Settings, patch: int = 4) -> None:
        self.sess = session(galileo_onnx(settings, patch), "cpu")
        self.norm = galileo_normalisation(settings)
        self.patch = patch
        self.seconds = 0.0
        self.pixels = 0

    def __call__(
        self, steps: list[dict[str, np.ndarray]], months: list[int], lat: float, lon: float, shape: tuple[int, int]
    ) -> np.ndarray:
        grids = [{b: v.reshape(shape) for b, v in step.items()} for step in steps]
        start = time.perf_counter()
        vectors, _ = embed_arrays(self.sess, grids, months, self.norm, self.patch)
        self.seconds += time.perf_counter() - start
        self.pixels += shape[0] * shape[1] * len(steps)
        return vectors.reshape(-1, vectors.shape[-1])


def _macro_f1(y: np.ndarray, p: np.ndarray, classes: np.ndarray) -> float:
    f1 = []
    for c in classes:
        tp, fp, fn = np.sum((p == c) & (y == c)), np.sum((p == c) & (y != c)), np.sum((p != c) & (y == c))
        f1.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f1))


def few_shot(
    features: np.ndarray, labels: np.ndarray, blocks: np.ndarray, k: int, draws: int = 5
) -> tuple[float, float]:
    """Mean (accuracy, macro F1) over 4 block folds x ``draws`` draws of k pixels per class."""
    classes = np.unique(labels[labels > 0])
    ub = np.unique(blocks)
    rng = np.random.default_rng(0)
    folds = np.array_split(rng.permutation(ub), 4)
    acc, f1 = [], []
    for fold in folds:
        test = np.isin(blocks, fold) & (labels > 0)
        pool = np.flatnonzero(~np.isin(blocks, fold) & (labels > 0))
        for _ in range(draws):
            pick = np.concatenate(
                [rng.choice(ii, min(k, len(ii)), replace=False) for c in classes if len(ii := pool[labels[pool] == c])]
            )
            seen = np.unique(labels[pick])
            if len(seen) < 2:
                continue
            clf = fit_logistic(features[pick], np.searchsorted(seen, labels[pick]), [str(c) for c in seen])
            pred = seen[clf.predict(features[test])]
            acc.append(float((pred == labels[test]).mean()))
            f1.append(_macro_f1(labels[test], pred, classes))
    return float(np.mean(acc)), float(np.mean(f1))


def _indices(b: dict[str, np.ndarray]) -> np.ndarray:
    def nd(a: str, c: str) -> np.ndarray:
        return (b[a] - b[c]) / (b[a] + b[c] + 1e-6)

    return np.stack([nd("B08", "B04"), nd("B03", "B08"), nd("B08", "B11")], axis=-1)


def eolearn(data: Path, embedder: Embedder) -> list[dict[str, Any]]:
    """Few-shot land cover on eo-learn Slovenia (see the module docstring)."""
    folder = data / "eolearn_slovenia_s2"
    steps = []
    for d in DATES:
        with rasterio.open(folder / f"S2_L1C_{d}.tif") as src:
            arr = src.read().astype(np.float32)
            h, w = src.height, src.width
            lon_lat = rasterio.warp.transform(src.crs, "EPSG:4326", [src.bounds.left], [src.bounds.top])
        steps.append({b: arr[EOLEARN_ORDER.index(b)].reshape(-1) for b in S2})
    with rasterio.open(folder / "LULC.tif") as src:
        labels = src.read(1).reshape(-1).astype(int)
    rows, cols = np.divmod(np.arange(h * w), w)
    blocks = (rows // BLOCK) * 100 + cols // BLOCK
    lat, lon = lon_lat[1][0], lon_lat[0][0]
    months = [int(d[4:6]) - 1 for d in DATES]
    emb5 = embedder(steps, months, lat, lon, (h, w))
    emb1 = embedder(steps[:1], months[:1], lat, lon, (h, w))
    raw5 = np.concatenate([np.stack([s[b] for b in S2], -1) for s in steps], -1)
    label = embedder.label
    features = {
        f"{label} embeddings, 5 dates": emb5,
        f"{label} embeddings, 1 date": emb1,
        "raw bands, 5 dates": raw5,
        "raw bands, 1 date": raw5[:, : len(S2)],
        "indices (NDVI, NDWI, NDMI), 5 dates": np.concatenate([_indices(s) for s in steps], -1),
    }
    rows_out = [retrieval(features, labels, label)]
    for name, f in features.items():
        row: dict[str, Any] = {"task": "eo-learn land cover", "features": name}
        for k in KS:
            a, m = few_shot(f, labels, blocks, k)
            row[f"k={k}"] = f"{a:.3f} / {m:.3f}"
        rows_out.append(row)
    return rows_out


def retrieval(
    features: dict[str, np.ndarray], labels: np.ndarray, label: str = "Presto", queries: int = 20
) -> dict[str, Any]:
    """Pixel retrieval on eo-learn: for a random labelled pixel, share of its 10 most similar pixels (cosine,
    raw features standardised) in the same LULC class; mean over ``queries`` per class present with 100+ px."""
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"task": "eo-learn pixel retrieval P@10 (macro over classes)", "features": ""}
    parts = []
    for name in (f"{label} embeddings, 1 date", "raw bands, 1 date"):
        f = features[name]
        f = f if name.startswith(label) else (f - f.mean(0)) / (f.std(0) + 1e-9)
        f = f / (np.linalg.norm(f, axis=1, keepdims=True) + 1e-9)
        per_class = []
        for c in np.unique(labels[labels > 0]):
            ids = np.flatnonzero(labels == c)
            if len(ids) < 100:
                continue
            hits = []
            for q in rng.choice(ids, queries, replace=False):
                sims = f @ f[q]
                sims[q] = -np.inf
                hits.append(float((labels[np.argsort(-sims)[:10]] == c).mean()))
            per_class.append(np.mean(hits))
        parts.append(f"{name.split(',')[0]} {np.mean(per_class):.2f}")
    out["features"] = " vs ".join(parts) + " (forest, grassland, shrubland, artificial)"
    return out


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    tp, fp, fn = np.sum(pred & truth), np.sum(pred & ~truth), np.sum(~pred & truth)
    return float(2 * tp / max(2 * tp + fp + fn, 1))


def sen1floods(data: Path, embedder: Embedder) -> list[dict[str, Any]]:
    """Water from k examples per class on Sen1Floods11 (left half trains, right half tests)."""
    folder = data / "sen1floods11_sample"
    win = rasterio.windows.Window(128, 128, 256, 256)
    with rasterio.open(folder / "Spain_7370579_S2Hand.tif") as src:
        s2 = src.read(window=win).astype(np.float32)
        lon, lat = src.xy(256, 256)
    with rasterio.open(folder / "Spain_7370579_S1Hand.tif") as src:
        s1 = src.read(window=win).astype(np.float32)
    with rasterio.open(folder / "Spain_7370579_LabelHand.tif") as src:
        label = src.read(1, window=win).reshape(-1)
    order = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
    bands = {b: s2[order.index(b)].reshape(-1) for b in S2}
    bands["vv"], bands["vh"] = s1[0].reshape(-1), s1[1].reshape(-1)
    emb = embedder([bands], [8], lat, lon, (256, 256))
    x, _ = from_arrays([bands])
    raw = x[:, 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16]]
    cols = np.arange(256 * 256) % 256
    train, test = (cols < 128) & (label >= 0), (cols >= 128) & (label >= 0)
    truth = label[test] == 1
    mndwi = (bands["B03"] - bands["B11"]) / (bands["B03"] + bands["B11"] + 1e-6)
    rows: list[dict[str, Any]] = [
        {"task": "Sen1Floods11 water F1", "features": "MNDWI > 0 (no training)"}
        | {f"k={k}": f"{_f1(mndwi[test] > 0, truth):.3f}" for k in KS}
    ]
    rng = np.random.default_rng(0)
    for name, f in ((f"{embedder.label} embeddings (S1+S2)", emb), ("raw bands S1+S2 + NDVI", raw)):
        row: dict[str, Any] = {"task": "Sen1Floods11 water F1", "features": name}
        for k in KS:
            scores = []
            for _ in range(5):
                pick = np.concatenate(
                    [rng.choice(np.flatnonzero(train & (label == c)), k, replace=False) for c in (0, 1)]
                )
                clf = fit_logistic(f[pick], label[pick], ["land", "water"])
                scores.append(_f1(clf.predict(f[test]) == 1, truth))
            row[f"k={k}"] = f"{np.mean(scores):.3f}"
        rows.append(row)
    return rows


def bigearthnet(data: Path, embedder: Embedder) -> list[dict[str, Any]]:
    """Retrieval precision@1 and @3 by shared CORINE label over the 6 example patches."""
    root = data / "bigearthnet_examples" / "BigEarthNet-S2-Example"
    key = f"{embedder.label} embeddings"
    vectors: dict[str, list[np.ndarray]] = {key: [], "raw band means": []}
    px = embedder.patch_px
    labels = []
    for patch in sorted(p for p in root.iterdir() if p.is_dir()):
        meta = json.loads((patch / f"{patch.name}_labels_metadata.json").read_text())
        labels.append(set(meta["labels"]))
        bands = {}
        for b in S2:
            with rasterio.open(patch / f"{patch.name}_{b}.tif") as src:
                arr = src.read(1, out_shape=(px, px), resampling=rasterio.enums.Resampling.bilinear)
                if b == "B02":
                    lon_lat = rasterio.warp.transform(src.crs, "EPSG:4326", [src.bounds.left], [src.bounds.top])
            bands[b] = arr.astype(np.float32).reshape(-1)
        month = int(str(meta.get("acquisition_date", "2017-06-01"))[5:7]) - 1
        emb = embedder([bands], [month], lon_lat[1][0], lon_lat[0][0], (px, px))
        vectors[key].append(emb.mean(axis=0))
        vectors["raw band means"].append(np.stack([bands[b] for b in S2], -1).mean(axis=0))
    rows = []
    for name, vs in vectors.items():
        v = np.array(vs)
        v = (v - v.mean(0)) / (v.std(0) + 1e-9) if name.startswith("raw") else v
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        p = {}
        for k in (1, 3):
            hits = [np.mean([bool(labels[i] & labels[j]) for j in np.argsort(-sims[i])[:k]]) for i in range(len(v))]
            p[k] = float(np.mean(hits))
        rows.append({"task": "BigEarthNet retrieval P@1 / P@3", "features": name, "k=5": f"{p[1]:.2f} / {p[3]:.2f}"})
    return rows


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


def run(
    settings: Settings | None = None, log: Callable[[str], None] = _stderr, model: str = "presto", patch: int = 4
) -> list[dict[str, Any]]:
    """Every measurement, as table rows; the last row is speed and memory."""
    settings = settings or Settings()
    embedder = GalileoEmbedder(settings, patch) if model == "galileo_nano" else Embedder(settings)
    if model == "galileo_nano" and patch != 4:
        embedder.label = f"Galileo nano (patch {patch})"
    rows = []
    for part in (eolearn, sen1floods, bigearthnet):
        start = time.perf_counter()
        rows += part(settings.data_dir, embedder)
        log(f"{part.__name__}: {time.perf_counter() - start:.0f} s")
    per_km2 = embedder.seconds / (embedder.pixels / 10_000)  # 10 000 pixels of 10 m = 1 km² (x dates)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(
        {"task": f"speed ({embedder.label})",
         "features": f"{per_km2:.1f} s per km² per date at 10 m; peak RSS {peak_mb:.0f} MB",
         "k=5": f"{embedder.pixels} px-dates in {embedder.seconds:.0f} s"}
    )  # fmt: skip
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The README table."""
    head = "| task | features | k=5 | k=10 | k=50 |\n|---|---|---|---|---|"
    body = [
        f"| {r['task']} | {r['features']} | {r.get('k=5', '')} | {r.get('k=10', '')} | {r.get('k=50', '')} |"
        for r in rows
    ]
    return "\n".join([head, *body])


if __name__ == "__main__":
    args = sys.argv[1:]
    print(markdown(run(model=args[0] if args else "presto", patch=int(args[1]) if len(args) > 1 else 4)))
