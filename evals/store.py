"""Eval runs in the database (``EvalRun``), and the case-by-case comparison of two runs.

A run is stored with its metrics (overall and per suite) and a compact record per case (outcome, reason,
scores, cost); the full traces stay in ``report.json``. :func:`load_run` accepts a stored run id (or a unique
prefix, or ``latest`` / ``previous``) or the path of a ``report.json`` (or its folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select

from geovigie.core.db.models import EvalRun
from geovigie.core.db.store import Database
from geovigie.core.errors import ConfigError
from geovigie.evals.report import KEY_METRICS
from geovigie.evals.results import CaseResult, RunReport, SuiteSummary

Change = Literal["regression", "improvement", "same", "new", "removed", "now skipped", "now run"]


def _compact(case: CaseResult) -> dict[str, Any]:
    data = case.model_dump(mode="json", exclude={"turns"})
    data["statuses"] = [(t.answer or {}).get("status") for t in case.turns]
    return data


def save_run(db: Database, report: RunReport) -> None:
    """Store (or replace) a run."""
    metrics = {
        "overall": report.overall,
        "suites": {s.name: s.model_dump(mode="json") for s in report.suites},
        "meta": {
            "created_at": report.created_at,
            "endpoint": report.endpoint,
            "jobs": report.jobs,
            "duration_s": report.duration_s,
        },  # fmt: skip
    }
    row = EvalRun(
        id=report.run_id, suites=[s.name for s in report.suites], planner=report.planner[:32], metrics=metrics,
        cases=[_compact(c) for c in report.cases], commit=report.commit,
    )  # fmt: skip
    with db.session() as session:
        session.merge(row)


def list_runs(db: Database, limit: int = 20) -> list[EvalRun]:
    """The most recent runs, newest first."""
    with db.session() as session:
        rows = session.scalars(select(EvalRun).order_by(EvalRun.created_at.desc(), EvalRun.id.desc()).limit(limit))
        return list(rows.all())


def _from_row(row: EvalRun) -> RunReport:
    meta = row.metrics.get("meta", {})
    return RunReport(
        run_id=row.id, created_at=meta.get("created_at", str(row.created_at)), commit=row.commit,
        planner=row.planner, endpoint=meta.get("endpoint"), jobs=meta.get("jobs", 1),
        duration_s=meta.get("duration_s", 0.0), overall=row.metrics.get("overall", {}),
        suites=[SuiteSummary.model_validate(s) for s in row.metrics.get("suites", {}).values()],
        cases=[CaseResult.model_validate({k: v for k, v in c.items() if k != "statuses"}) for c in row.cases],
    )  # fmt: skip


def load_run(db: Database | None, ref: str) -> RunReport:
    """A run from a report path, or from the database by id, unique id prefix, ``latest`` or ``previous``.

    Raises:
        ConfigError: nothing (or more than one run) matches.
    """
    path = Path(ref)
    if path.is_dir():
        path = path / "report.json"
    if path.is_file():
        return RunReport.model_validate_json(path.read_text(encoding="utf-8"))
    if db is None:
        raise ConfigError(f"No report at {ref!r}.", hint="Give a report.json path or a stored run id.")
    if ref in ("latest", "previous"):
        runs = list_runs(db, limit=2)
        wanted = 0 if ref == "latest" else 1
        if len(runs) <= wanted:
            raise ConfigError(f"There is no {ref} run in the database.", hint="Run `geovigie eval run` first.")
        return _from_row(runs[wanted])
    with db.session() as session:
        row = session.get(EvalRun, ref)
        if row is None:
            rows = session.scalars(select(EvalRun).where(EvalRun.id.like(f"{ref}%"))).all()
            if len(rows) != 1:
                what = "No run" if not rows else f"{len(rows)} runs"
                raise ConfigError(f"{what} match {ref!r}.", hint="See `geovigie eval list` for run ids.")
            row = rows[0]
        return _from_row(row)


@dataclass
class CaseChange:
    """One case in two runs."""

    suite: str
    case_id: str
    change: Change
    before: str
    after: str
    reason: str = ""
    deltas: dict[str, float] = field(default_factory=dict)


@dataclass
class Comparison:
    """Run B against run A: case changes and metric deltas per suite."""

    run_a: str
    run_b: str
    cases: list[CaseChange]
    metrics: dict[str, dict[str, tuple[Any, Any]]]

    def regressions(self) -> list[CaseChange]:
        """Cases that passed in A and no longer pass in B."""
        return [c for c in self.cases if c.change == "regression"]

    def improvements(self) -> list[CaseChange]:
        """Cases that did not pass in A and pass in B."""
        return [c for c in self.cases if c.change == "improvement"]


def _classify(a: CaseResult | None, b: CaseResult | None) -> Change:
    if a is None:
        return "new"
    if b is None:
        return "removed"
    if (a.outcome == "skipped") != (b.outcome == "skipped"):
        return "now skipped" if b.outcome == "skipped" else "now run"
    if a.outcome == "passed" and b.outcome != "passed":
        return "regression"
    if a.outcome != "passed" and b.outcome == "passed":
        return "improvement"
    return "same"


def _score_deltas(a: CaseResult, b: CaseResult) -> dict[str, float]:
    out = {}
    for score in b.scores:
        old = a.score(score.name)
        if old is not None and old.value is not None and score.value is not None and score.name != "decline":
            delta = score.value - old.value
            if abs(delta) >= 1e-3 and score.name.startswith(("truth", "args", "answer")):
                out[score.name] = round(delta, 4)
    return out


def compare(a: RunReport, b: RunReport) -> Comparison:
    """Case-by-case and metric-by-metric comparison of run B against run A."""
    index_a = {(c.suite, c.case_id): c for c in a.cases}
    index_b = {(c.suite, c.case_id): c for c in b.cases}
    changes = []
    for key in list(index_a) + [k for k in index_b if k not in index_a]:
        ca, cb = index_a.get(key), index_b.get(key)
        change = _classify(ca, cb)
        reason = cb.reason if cb is not None and change in ("regression", "now skipped") else ""
        deltas = _score_deltas(ca, cb) if ca is not None and cb is not None else {}
        changes.append(CaseChange(suite=key[0], case_id=key[1], change=change, reason=reason, deltas=deltas,
                                  before=ca.outcome if ca else "-", after=cb.outcome if cb else "-"))  # fmt: skip
    suites_a = {s.name: s.metrics for s in a.suites} | {"all": a.overall}
    suites_b = {s.name: s.metrics for s in b.suites} | {"all": b.overall}
    metrics: dict[str, dict[str, tuple[Any, Any]]] = {}
    for name in list(suites_a) + [n for n in suites_b if n not in suites_a]:
        ma, mb = suites_a.get(name, {}), suites_b.get(name, {})
        metrics[name] = {k: (ma.get(k), mb.get(k)) for k in KEY_METRICS if k in ma or k in mb}
    return Comparison(run_a=a.run_id, run_b=b.run_id, cases=changes, metrics=metrics)
