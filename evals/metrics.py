"""Aggregate case results into suite, tag and run metrics.

Definitions (each over the cases where it applies; ``n_<metric>`` says how many):

* ``pass_rate``: passed / executed (skipped cases are not executed; errors and timeouts count as not passed).
* ``instruction_accuracy``: share of tool calls that ran as written (no unknown tool, no invalid arguments),
  averaged over cases that made calls (ThinkGeo "Inst.").
* ``tool_accuracy``: share of cases whose tool expectation passed; ``tool_any_order`` / ``tool_in_order`` /
  ``tool_exact``: Earth-Bench's Tool-Any-Order, Tool-In-Order, Tool-Exact-Match.
* ``arg_accuracy``: matched / expected argument sets, pooled (ThinkGeo "Arg.").
* ``answer_accuracy``: cases whose numeric and categorical answer checks all passed (ThinkGeo "Ans.").
* ``status_accuracy``; ``abstention_precision`` / ``abstention_recall``: declining (abstain or clarify) vs
  expected declining, per turn.
* task metrics: ``mask_iou`` / ``mask_f1`` / ``mask_precision`` / ``mask_recall`` (means over cases),
  ``classes_accuracy`` / ``classes_miou``, ``count_mae`` / ``count_mean_abs_rel_error`` / ``count_det_f1``.
* ``provenance_completeness``: numeric claims naming their scenes and dates / all numeric claims (pooled).
* ``latency_p50_s`` / ``latency_p95_s`` (executed cases), ``model_calls_mean``, ``tokens_in`` / ``tokens_out``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from geovigie.evals.results import CaseResult, Score


def _mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return round(float(np.mean(kept)), 4) if kept else None


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _scores(results: Sequence[CaseResult], prefix: str) -> list[tuple[CaseResult, list[Score]]]:
    out = []
    for r in results:
        hits = [s for s in r.scores if s.name == prefix or s.name.startswith(prefix + ":")]
        if hits:
            out.append((r, hits))
    return out


def _put(out: dict[str, Any], name: str, value: float | None, n: int) -> None:
    if n:
        out[name] = value
        out[f"n_{name}"] = n


def _tool_metrics(results: Sequence[CaseResult], out: dict[str, Any]) -> None:
    inst = _scores(results, "instruction")
    _put(out, "instruction_accuracy", _mean(_mean(s.value for s in ss) for _, ss in inst), len(inst))
    tools = _scores(results, "tools")
    _put(out, "tool_accuracy", _rate(sum(all(s.passed for s in ss) for _, ss in tools), len(tools)), len(tools))
    for key in ("tool_any_order", "tool_in_order", "tool_exact"):
        vals = [s.metrics[key] for _, ss in tools for s in ss if key in s.metrics]
        _put(out, key, _mean(vals), len(vals))
    args = [s for _, ss in _scores(results, "args") for s in ss]
    expected = sum(int(s.metrics.get("args_expected") or 0) for s in args)
    matched = sum(int(s.metrics.get("args_matched") or 0) for s in args)
    _put(out, "arg_accuracy", _rate(matched, expected), expected)


def _answer_metrics(results: Sequence[CaseResult], out: dict[str, Any]) -> None:
    answered = [(r, [s for s in r.scores if s.name.startswith("answer:") or s.name == "choice"]) for r in results]
    answered = [(r, ss) for r, ss in answered if ss]
    hits = sum(all(s.passed for s in ss) for _, ss in answered)
    _put(out, "answer_accuracy", _rate(hits, len(answered)), len(answered))
    status = _scores(results, "status")
    _put(out, "status_accuracy", _rate(sum(all(s.passed for s in ss) for _, ss in status), len(status)), len(status))
    declines = [s.metrics for _, ss in _scores(results, "decline") for s in ss]
    predicted = [m for m in declines if m.get("predicted")]
    expected = [m for m in declines if m.get("expected")]
    both = sum(1 for m in declines if m.get("predicted") and m.get("expected"))
    _put(out, "abstention_precision", _rate(both, len(predicted)), len(predicted))
    _put(out, "abstention_recall", _rate(both, len(expected)), len(expected))


def _task_metrics(results: Sequence[CaseResult], out: dict[str, Any]) -> None:
    specs = {
        "truth:mask": {"mask_iou": "iou", "mask_f1": "f1", "mask_precision": "precision", "mask_recall": "recall"},
        "truth:classes": {"classes_accuracy": "accuracy", "classes_miou": "miou"},
        "truth:count": {"count_mae": "count_abs_error", "count_det_f1": "det_f1"},
    }
    for name, keys in specs.items():
        metric_sets = [s.metrics for _, ss in _scores(results, name) for s in ss if s.metrics]
        for label, key in keys.items():
            vals = [m.get(key) for m in metric_sets if m.get(key) is not None]
            _put(out, label, _mean(vals), len(vals))
        if name == "truth:count":
            rel = [abs(v) for m in metric_sets if (v := m.get("count_rel_error")) is not None]
            _put(out, "count_mean_abs_rel_error", _mean(rel), len(rel))


def _cost_metrics(executed: Sequence[CaseResult], out: dict[str, Any]) -> None:
    prov = [s.metrics for _, ss in _scores(executed, "provenance") for s in ss]
    claims = sum(int(m.get("claims") or 0) for m in prov)
    complete = sum(int(m.get("complete_claims") or 0) for m in prov)
    _put(out, "provenance_completeness", _rate(complete, claims), claims)
    timed = [r.latency_s for r in executed if r.outcome != "timeout" and r.turns]
    if timed:
        out["latency_p50_s"] = round(float(np.percentile(timed, 50)), 3)
        out["latency_p95_s"] = round(float(np.percentile(timed, 95)), 3)
        out["model_calls_mean"] = _mean(r.model_calls for r in executed if r.turns)
    tokens_in, tokens_out = sum(r.tokens_in for r in executed), sum(r.tokens_out for r in executed)
    if tokens_in or tokens_out:
        out["tokens_in"], out["tokens_out"] = tokens_in, tokens_out
        out["tokens_per_case"] = _mean(r.tokens_in + r.tokens_out for r in executed if r.turns)


def summarise(results: Sequence[CaseResult]) -> dict[str, Any]:
    """All metrics of a set of case results (see the module docstring)."""
    executed = [r for r in results if r.outcome != "skipped"]
    count = {o: sum(r.outcome == o for r in results) for o in ("passed", "failed", "error", "timeout", "skipped")}
    out: dict[str, Any] = {"cases": len(results), "executed": len(executed), **count}
    out["pass_rate"] = _rate(count["passed"], len(executed))
    _tool_metrics(executed, out)
    _answer_metrics(executed, out)
    _task_metrics(executed, out)
    _cost_metrics(executed, out)
    return out


def summarise_by_tag(results: Sequence[CaseResult]) -> dict[str, dict[str, Any]]:
    """:func:`summarise` per tag (a case counts under each of its tags)."""
    tags = sorted({t for r in results for t in r.tags})
    return {tag: summarise([r for r in results if tag in r.tags]) for tag in tags}
