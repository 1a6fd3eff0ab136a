"""Reports of a run: ``report.json`` (everything, for machines) and ``report.md`` (tables and failures, for people)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from geovigie.evals.results import CaseResult, RunReport

KEY_METRICS = (
    "pass_rate", "instruction_accuracy", "tool_accuracy", "tool_exact", "arg_accuracy", "answer_accuracy",
    "status_accuracy", "abstention_precision", "abstention_recall", "mask_iou", "mask_f1", "classes_accuracy",
    "classes_miou", "count_mae", "count_mean_abs_rel_error", "count_det_f1", "provenance_completeness",
    "latency_p50_s", "latency_p95_s", "model_calls_mean", "tokens_per_case",
)  # fmt: skip
"""Metrics shown in the Markdown tables, in this order (when present)."""

_PERCENT = {"pass_rate", "instruction_accuracy", "tool_accuracy", "tool_exact", "arg_accuracy", "answer_accuracy",
            "status_accuracy", "abstention_precision", "abstention_recall", "provenance_completeness",
            "count_mean_abs_rel_error", "tool_any_order", "tool_in_order"}  # fmt: skip


def fmt(metric: str, value: Any) -> str:
    """A metric value for a table cell."""
    if value is None:
        return "–"
    if metric in _PERCENT:
        return f"{100 * float(value):.1f} %"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)


def _cell(metrics: Mapping[str, Any], key: str) -> str:
    if key not in metrics:
        return ""
    n = metrics.get(f"n_{key}")
    return fmt(key, metrics[key]) + (f" (n={n})" if n is not None and key not in ("pass_rate",) else "")


def summary_table(report: RunReport) -> str:
    """Suites as rows: counts and pass rate."""
    head = "| suite | cases | run | passed | failed | error | timeout | skipped | pass rate |"
    lines = [head, "|---|" + "---:|" * 8]
    rows = [(s.name, s.metrics) for s in report.suites] + [("**all**", report.overall)]
    for name, m in rows:
        cells = [m.get(k, 0) for k in ("cases", "executed", "passed", "failed", "error", "timeout", "skipped")]
        lines.append(
            f"| {name} | " + " | ".join(str(c) for c in cells) + f" | {fmt('pass_rate', m.get('pass_rate'))} |"
        )
    return "\n".join(lines)


def metrics_table(columns: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """Metrics as rows, one column per (name, metrics) pair; rows without any value are left out."""
    keys = [k for k in KEY_METRICS if any(k in m for _, m in columns)]
    lines = ["| metric | " + " | ".join(n for n, _ in columns) + " |", "|---|" + "---|" * len(columns)]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(_cell(m, key) for _, m in columns) + " |")
    return "\n".join(lines)


def _trace_lines(case: CaseResult) -> list[str]:
    lines = []
    for n, turn in enumerate(case.turns):
        answer = turn.answer or {}
        text = " ".join(str(answer.get("text", "")).split())[:400]
        prefix = f"turn {n + 1}: " if len(case.turns) > 1 else ""
        lines.append(f"- {prefix}Q: {turn.question}")
        lines.append(f"  - status `{answer.get('status')}` in {turn.latency_s:.1f} s: {text}")
        for step in answer.get("trace", []):
            args = json.dumps(step.get("args", {}), ensure_ascii=False)[:200]
            mark = "ok" if step.get("ok") else f"**{step.get('error_type')}**"
            lines.append(f"  - `{step.get('tool')}` {args} → {mark}")
    for score in case.scores:
        if score.metrics and score.name.startswith("truth"):
            shown = ", ".join(f"{k}={v:.3f}" for k, v in score.metrics.items() if isinstance(v, float))
            lines.append(f"- {score.name}: {shown}")
    return lines


def failures_section(report: RunReport, limit: int = 200) -> str:
    """Every failed, errored or timed-out case with its reasons and trace."""
    bad = [c for c in report.cases if c.outcome in ("failed", "error", "timeout")]
    if not bad:
        return "No failures."
    lines: list[str] = []
    for case in bad[:limit]:
        lines.append(f"### {case.suite} / {case.case_id} — {case.outcome}")
        lines.append(f"{case.reason}\n")
        lines.extend(_trace_lines(case))
        lines.append("")
    if len(bad) > limit:
        lines.append(f"… and {len(bad) - limit} more (see report.json).")
    return "\n".join(lines)


def skipped_section(report: RunReport) -> str:
    """Skipped cases grouped by reason."""
    groups: dict[tuple[str, str], list[str]] = {}
    for case in report.cases:
        if case.outcome == "skipped":
            groups.setdefault((case.suite, case.reason), []).append(case.case_id)
    if not groups:
        return "None."
    lines = ["| suite | cases | reason |", "|---|---|---|"]
    for (suite, reason), ids in groups.items():
        shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5})" if len(ids) > 5 else "")
        lines.append(f"| {suite} | {shown} | {reason} |")
    return "\n".join(lines)


def tag_table(report: RunReport) -> str:
    """Per suite and tag: cases, pass rate and the main accuracy of the tag's cases."""
    lines = [
        "| suite | tag | run | pass rate | tool | args | answer | task |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for suite in report.suites:
        for tag, m in suite.by_tag.items():
            if not m.get("executed"):
                continue
            task = next((f"{k} {fmt(k, m[k])}" for k in ("mask_iou", "classes_accuracy", "count_mae") if k in m), "")
            keys = ("pass_rate", "tool_accuracy", "arg_accuracy", "answer_accuracy")
            cells = [fmt(k, m.get(k)) for k in keys]
            lines.append(f"| {suite.name} | {tag} | {m['executed']} | " + " | ".join(cells) + f" | {task} |")
    return "\n".join(lines)


def markdown(report: RunReport) -> str:
    """The whole Markdown report."""
    roots = sorted({s.data_root for s in report.suites})
    planner = report.planner + (f" ({report.endpoint})" if report.endpoint else "")
    head = [
        f"# GeoVigie evaluation — run {report.run_id}",
        "",
        f"- date: {report.created_at}; commit: `{report.commit or 'n/a'}`; planner: {planner}; jobs: {report.jobs}",
        f"- duration: {report.duration_s:.0f} s; data root(s): {', '.join(roots)}",
        "",
        "## Summary",
        "",
        summary_table(report),
        "",
        "## Metrics",
        "",
        metrics_table([(s.name, s.metrics) for s in report.suites] + [("all", report.overall)]),
        "",
        "## Per tag",
        "",
        tag_table(report),
        "",
        "## Failures",
        "",
        failures_section(report),
        "",
        "## Skipped",
        "",
        skipped_section(report),
        "",
    ]
    return "\n".join(head)


def write_reports(report: RunReport, out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir`` (created); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(report.model_dump_json(indent=1), encoding="utf-8")
    md_path.write_text(markdown(report), encoding="utf-8")
    return json_path, md_path
