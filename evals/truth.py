"""Task scorers: the produced artifact against ground truth (masks, class maps, counts and boxes).

* ``mask``: the answer's mask COG (by default kind ``cog``, role ``mask``: ``detect_change`` and ``segment``
  both write one) against a label raster resampled onto the COG's grid. Positive = ``predicted_positive``
  values of the artifact vs ``positive`` values of the label; the artifact's nodata, ``predicted_ignore``,
  ``ignore`` label values and pixels the label does not cover are left out. IoU, F1, precision, recall and
  the relative error of the positive area.
* ``classes``: overall accuracy and mean IoU over the label classes after mapping artifact codes through
  ``class_map`` (unmapped codes count as wrong).
* ``count``: the count figure of the answer (``figure`` pattern; else the GeoJSON's ``features_total``)
  against ``count`` or the number of labelled boxes; with boxes and the answer's GeoJSON, detection precision,
  recall and F1 (centre-in-box matching).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.db.store import Database
from geovigie.evals.labels import (
    OUTSIDE,
    EvalDataError,
    geojson_pixel_boxes,
    label_on_grid,
    match_boxes,
    read_boxes,
    read_raster,
    reference_grid,
)
from geovigie.evals.loader import resolve_data_path
from geovigie.evals.results import Score
from geovigie.evals.schema import ArtifactSelector, TruthExpect


@dataclass(frozen=True)
class TruthEnv:
    """Where ground truth is found: the data root, and the run's catalog (for item alignment)."""

    data_root: Path
    db: Database | None = None


def select_artifact(answer: Mapping[str, Any], selector: ArtifactSelector) -> dict[str, Any] | None:
    """The last artifact of the answer matching kind, role and title pattern."""
    hits = [
        a for a in answer.get("artifacts", [])
        if (selector.kind is None or a.get("kind") == selector.kind)
        and (selector.role is None or a.get("role") == selector.role)
        and (selector.title is None or re.search(selector.title, str(a.get("title", "")), re.IGNORECASE))
    ]  # fmt: skip
    return dict(hits[-1]) if hits else None


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _label(expect: TruthExpect, env: TruthEnv, art_path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(prediction, label on the prediction's grid, compared pixels)."""
    assert expect.label is not None
    label_path = resolve_data_path(env.data_root, expect.label)
    if label_path is None:
        raise EvalDataError(f"label {expect.label!r} not found in {env.data_root}")
    pred = read_raster(art_path)
    label = label_on_grid(read_raster(label_path), reference_grid(expect.align, env.data_root, env.db), pred.grid)
    skip_pred = list(expect.predicted_ignore) + ([int(pred.nodata)] if pred.nodata is not None else [])
    valid = (label != OUTSIDE) & ~np.isin(label, expect.ignore) & ~np.isin(pred.data, skip_pred)
    return pred.data, label, valid


def _mask_metrics(expect: TruthExpect, env: TruthEnv, art_path: Path) -> dict[str, float | None]:
    pred, label, valid = _label(expect, env, art_path)
    p = np.isin(pred, expect.predicted_positive) & valid
    t = np.isin(label, expect.positive) & valid
    tp, fp, fn = int((p & t).sum()), int((p & ~t).sum()), int((~p & t).sum())
    covered = int((label != OUTSIDE).sum())
    return {
        "iou": _ratio(tp, tp + fp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "area_rel_error": (int(p.sum()) - int(t.sum())) / int(t.sum()) if t.any() else None,
        "pixels": float(valid.sum()),
        "coverage": _ratio(float(valid.sum()), covered),
    }


def _class_metrics(expect: TruthExpect, env: TruthEnv, art_path: Path) -> dict[str, float | None]:
    pred, label, valid = _label(expect, env, art_path)
    mapped = np.full(pred.shape, OUTSIDE, dtype=np.int64)
    for ours, theirs in expect.class_map.items():
        mapped[pred == ours] = theirs
    m, t = mapped[valid], label[valid]
    ious = []
    out: dict[str, float | None] = {}
    for code in sorted(int(c) for c in np.unique(t)):
        inter, union = int(((m == code) & (t == code)).sum()), int(((m == code) | (t == code)).sum())
        ious.append(_ratio(inter, union))
        out[f"iou_{code}"] = ious[-1]
    out.update(accuracy=float((m == t).mean()) if m.size else None, miou=float(np.mean(ious)) if ious else None)
    out["pixels"] = float(valid.sum())
    return out


def _predicted_count(expect: TruthExpect, answer: Mapping[str, Any], art: dict[str, Any] | None) -> float | None:
    figs = [f for f in answer.get("figures", []) if re.search(expect.figure, str(f.get("name", "")), re.IGNORECASE)]
    if figs:
        return float(figs[-1]["value"])
    if art is not None:
        total = json.loads(Path(art["path"]).read_text(encoding="utf-8")).get("properties", {}).get("features_total")
        return float(total) if total is not None else None
    return None


def _count_metrics(
    expect: TruthExpect, env: TruthEnv, answer: Mapping[str, Any]
) -> tuple[dict[str, float | None], str]:
    art = select_artifact(answer, expect.selector())
    reference = reference_grid(expect.align, env.data_root, env.db)
    truth_boxes = read_boxes(expect.boxes, env.data_root, reference) if expect.boxes else None
    truth = float(expect.count if expect.count is not None else len(truth_boxes or []))
    predicted = _predicted_count(expect, answer, art)
    if predicted is None:
        return {"count_truth": truth}, f"no count figure matching {expect.figure!r} and no GeoJSON artifact"
    out: dict[str, float | None] = {
        "count_truth": truth,
        "count_predicted": predicted,
        "count_abs_error": abs(predicted - truth),
        "count_rel_error": (predicted - truth) / truth if truth else None,
    }
    if truth_boxes is not None and art is not None:
        collection = json.loads(Path(art["path"]).read_text(encoding="utf-8"))
        boxes = geojson_pixel_boxes(collection, reference)
        tp = match_boxes(boxes, truth_boxes)
        precision, recall = _ratio(tp, len(boxes)), _ratio(tp, len(truth_boxes))
        out.update(
            det_precision=precision, det_recall=recall, det_f1=_ratio(2 * precision * recall, precision + recall)
        )
    return out, ""


def _verdict(expect: TruthExpect, m: Mapping[str, float | None]) -> tuple[bool, str]:
    checks = [
        ("iou", expect.min_iou, 1), ("f1", expect.min_f1, 1), ("accuracy", expect.min_accuracy, 1),
        ("count_abs_error", expect.max_abs_error, -1), ("count_rel_error", expect.max_rel_error, -1),
    ]  # fmt: skip
    problems = []
    for key, bound, sign in checks:
        if bound is None:
            continue
        value = m.get(key)
        if value is not None and key == "count_rel_error":
            value = abs(value)
        if value is None or (value < bound if sign > 0 else value > bound):
            shown = "n/a" if value is None else f"{value:.3f}"
            problems.append(f"{key} {shown} {'<' if sign > 0 else '>'} {bound:g}")
    return not problems, "; ".join(problems)


def score_truth(expect: TruthExpect, answer: Mapping[str, Any], env: TruthEnv, turn: int = 0) -> Score:
    """Score the answer's artifact (or count) against the ground truth.

    Without thresholds the check passes as soon as the artifact was produced and scored; thresholds
    (``min_iou``, ``min_f1``, ``min_accuracy``, ``max_abs_error``, ``max_rel_error``) make it a quality gate.

    Raises:
        EvalDataError: the ground truth cannot be read or aligned.
    """
    name = f"truth:{expect.kind}"
    if expect.kind == "count":
        metrics, missing = _count_metrics(expect, env, answer)
        if missing:
            return Score(name=name, passed=False, detail=missing, metrics=metrics, turn=turn)
    else:
        art = select_artifact(answer, expect.selector())
        if art is None:
            sel = expect.selector()
            return Score(name=name, passed=False, detail=f"no artifact (kind={sel.kind}, role={sel.role})", turn=turn)
        scorer = _mask_metrics if expect.kind == "mask" else _class_metrics
        metrics = scorer(expect, env, Path(art["path"]))
    ok, detail = _verdict(expect, metrics)
    key = {"mask": "iou", "classes": "accuracy", "count": "count_abs_error"}[expect.kind]
    return Score(name=name, passed=ok, value=metrics.get(key), detail=detail, metrics=metrics, turn=turn)
