"""Train and evaluate the OSCD Sentinel-2 urban-change network (leave-one-city-out), export the final model.

    python -m benchmarks.train_oscd --loco            # 8 folds: train on 7 cities, test on the 8th
    python -m benchmarks.train_oscd --final --export  # train on all 8, write tools/models/weights/oscd_siamese.onnx

Needs the optional extra ``train`` (torch CPU) and ``../shared/data/oscd``. Pairs are read with the tool's own
reader (:func:`geovigie.tools.raster.read_bands`: date 2 warped onto date 1's 10 m grid, bilinear, reflectance),
the 10 non-atmospheric bands, so training sees what ``detect_change`` feeds the model at inference.

**Protocol.** The settings of :class:`TrainConfig` (architecture, loss, patch sampling, augmentations, learning
rate, steps) were fixed before any fold was run and are the same for every fold. One rule changed after one
held-out result was seen, and is stated here: the first run thresholded at a fixed 0.5 and the abudhabi fold
over-predicted (precision 0.07, F1 0.137); the threshold is now chosen per fold on the fold's *training* cities
(:func:`~geovigie.tools.models.oscd_train.choose_threshold`), never on the held-out city (``f1_at_0.5`` keeps the
old rule's figure). So abudhabi is not a clean hold-out for that rule. LOCO folds train for ``--loco-steps`` (the
final model, trained on all 8 cities, for ``--steps``). The classical figure is the urban preset of
``detect_change`` on exactly the same pixels and labels (:func:`benchmarks.accuracy_change.run_oscd`). Results go
to ``benchmarks/out/oscd_loco.json`` after every fold; ``--held-out CITY ...`` runs some folds and keeps the others.

**Result (first run, 2026-12-02).** Leave-one-city-out mean F1 0.250 (0.243 at a fixed 0.5) against the
classical urban preset's 0.328 on the same cities; better only on bercy. By the shipping rule no weights ship.

**Time.** One fold (300 steps, batch 16, 64 px patches, 1 torch thread) costs 67-95 CPU-s; the 8 folds took
12 CPU-min and 48 min of wall time on the shared 2-core machine (10-17 other runnable processes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors

from benchmarks.accuracy_change import OSCD_CITIES, Counts, oscd_scene, run_oscd
from geovigie.core.settings import Settings
from geovigie.tools.models import oscd_net, oscd_runtime, oscd_train
from geovigie.tools.raster import read_bands, scene_grid

OUT = Path(__file__).parent / "out"
LOCO_STEPS = 300


def load_city(root: Path, city: str) -> oscd_train.CityPair:
    """One OSCD city on date 1's 10 m grid: the model's bands of both dates and the change label."""
    before, after = oscd_scene(root, city, 1), oscd_scene(root, city, 2)
    bands = list(oscd_runtime.BANDS)
    grid = scene_grid(before, None, bands=["B02"])
    b = read_bands(before, bands, grid).data
    a = read_bands(after, bands, grid).data
    with warnings.catch_warnings():
        # The label files have no georeferencing, by design: they sit on date 1's pixel grid.
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(root / "oscd" / city / "cm" / f"{city}-cm.tif") as src:
            label = src.read(1) == 2
    assert label.shape == b.shape[1:], (city, label.shape, b.shape)
    return oscd_train.CityPair(city, b, a, label)


def _log(step: int, loss: float, elapsed: float) -> None:
    print(f"  step {step:5d}  loss {loss:.4f}  {elapsed:6.0f} s", flush=True)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _score(prob: np.ndarray, label: np.ndarray, threshold: float) -> dict[str, float]:
    c = Counts().add(prob >= threshold, label)
    return {"f1": round(c.f1, 4), "precision": round(c.precision, 4), "recall": round(c.recall, 4)}


def loco(
    cities: list[oscd_train.CityPair], cfg: oscd_train.TrainConfig, held_out: list[str], save: Any
) -> list[dict[str, Any]]:
    """One fold per held-out city: train on all the others, score it; ``save(rows)`` after each fold."""
    rows = []
    for held in (c for c in cities if c.name in held_out):
        print(f"fold: held-out {held.name} ({cfg.steps} steps)", flush=True)
        wall, cpu = time.perf_counter(), _cpu_s()
        train = [c for c in cities if c is not held]
        model = oscd_train.train(train, cfg, progress=_log)
        threshold, train_f1 = oscd_train.choose_threshold(model, train)
        prob = oscd_train.predict_probability(model, held.before, held.after)
        row = {"city": held.name, **_score(prob, held.label, threshold), "threshold": threshold,
               "train_cities_f1": round(train_f1, 4), "f1_at_0.5": _score(prob, held.label, 0.5)["f1"],
               "train_wall_s": round(time.perf_counter() - wall), "train_cpu_s": round(_cpu_s() - cpu)}  # fmt: skip
        print(f"  {row}", flush=True)
        rows.append(row)
        save(rows)
    return rows


def classical(root: Path) -> dict[str, dict[str, float]]:
    """Urban-preset F1 per city on the same labels (the tool's classical engine)."""
    return {r["item"]: {k: r[k] for k in ("f1", "precision", "recall")} for r in run_oscd(root, "urban")}


def final(cities: list[oscd_train.CityPair], cfg: oscd_train.TrainConfig, export: Path | None) -> dict[str, Any]:
    """Train on every city; export to ONNX and score the export in-sample (sanity, not accuracy)."""
    print(f"final model on {len(cities)} cities ({cfg.steps} steps)", flush=True)
    wall, cpu = time.perf_counter(), _cpu_s()
    model = oscd_train.train(cities, cfg, progress=_log)
    threshold, train_f1 = oscd_train.choose_threshold(model, cities)
    info: dict[str, Any] = {"train_wall_s": round(time.perf_counter() - wall), "train_cpu_s": round(_cpu_s() - cpu),
                            "parameters": oscd_net.parameter_count(model), "threshold": threshold,
                            "train_cities_f1": round(train_f1, 4)}  # fmt: skip
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        oscd_net.export_onnx(model, str(export), bands=len(oscd_runtime.BANDS), threshold=threshold)
        info["onnx_sha256"] = hashlib.sha256(export.read_bytes()).hexdigest()
        info["onnx_bytes"] = export.stat().st_size
        runtime = oscd_runtime.OscdChangeModel.from_file(export, sha256=None)
        info["in_sample_onnx"] = {c.name: _score(runtime.probability(c.before, c.after), c.label, runtime.threshold)
                                  for c in cities}  # fmt: skip
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loco", action="store_true", help="leave-one-city-out evaluation")
    parser.add_argument("--final", action="store_true", help="train the final model on all cities")
    parser.add_argument("--export", action="store_true", help="write the final model as ONNX (package data)")
    parser.add_argument("--steps", type=int, default=oscd_train.TrainConfig().steps, help="final model steps")
    parser.add_argument("--loco-steps", type=int, default=LOCO_STEPS, help="steps per LOCO fold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out", nargs="+", default=list(OSCD_CITIES), choices=OSCD_CITIES, metavar="CITY",
                        help="LOCO folds to run (default: all 8); earlier folds in --out are kept")  # fmt: skip
    parser.add_argument("--out", type=Path, default=OUT / "oscd_loco.json")
    args = parser.parse_args()
    root = Settings().data_dir
    cities = [load_city(root, c) for c in OSCD_CITIES]
    base = oscd_train.TrainConfig(seed=args.seed)
    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    report["host"] = {"cpus": os.cpu_count(), "threads": base.threads}
    if args.loco:
        cfg = replace(base, steps=args.loco_steps)
        section = report.setdefault("loco", {"folds": []})
        section["config"] = cfg.as_dict()
        earlier = [f for f in section["folds"] if f["city"] not in args.held_out]

        def save(rows: list[dict[str, Any]]) -> None:
            section["folds"] = sorted(earlier + rows, key=lambda f: OSCD_CITIES.index(f["city"]))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=1))

        loco(cities, cfg, args.held_out, save)
        section["classical_urban"] = classical(root)
        folds = section["folds"]
        section["mean_f1"] = round(float(np.mean([f["f1"] for f in folds])), 4)
        section["classical_mean_f1"] = round(float(np.mean([section["classical_urban"][f["city"]]["f1"]
                                                            for f in folds])), 4)  # fmt: skip
        print(f"LOCO mean F1 {section['mean_f1']} vs classical {section['classical_mean_f1']} ({len(folds)} cities)")
    if args.final:
        cfg = replace(base, steps=args.steps)
        export = oscd_runtime.PACKAGED_WEIGHTS if args.export else None
        report["final"] = {"config": cfg.as_dict(), **final(cities, cfg, export)}
        print({k: v for k, v in report["final"].items() if k != "config"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
