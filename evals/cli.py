"""``geovigie eval run | compare | list``: mounted on the main CLI with :func:`register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings

eval_app = typer.Typer(help="Run evaluation suites, compare runs, list stored runs.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: GeoVigieError) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {exc.message}")
    if exc.hint:
        err_console.print(f"[yellow]What to do:[/] {exc.hint}")
    return typer.Exit(code=2)


def _database() -> Any:
    from geovigie.core.db.store import Database

    settings = Settings()
    settings.ensure_dirs()
    return Database(settings.resolved_db_url)


@eval_app.command("run")
def run(
    suites: Annotated[list[str], typer.Argument(help="Suite files, folders or globs (any path).")],
    planner: Annotated[
        str, typer.Option(help="offline (deterministic) or llm (OpenAI-compatible endpoint).")
    ] = "offline",
    endpoint: Annotated[str | None, typer.Option(help="LLM endpoint URL (default GEOVIGIE_LLM_BASE_URL).")] = None,
    model: Annotated[str | None, typer.Option(help="Served model name (default GEOVIGIE_LLM_MODEL).")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write report.json and report.md here.")] = None,
    data_root: Annotated[
        Path | None, typer.Option(help="Data root for every suite (default: suite's, then GEOVIGIE_DATA_DIR).")
    ] = None,  # noqa: E501
    timeout: Annotated[float, typer.Option(help="Hard limit per case, seconds (a case's timeout_s wins).")] = 300.0,
    tag: Annotated[list[str] | None, typer.Option(help="Run only cases with this tag (repeatable).")] = None,
    case: Annotated[list[str] | None, typer.Option(help="Run only this case id (repeatable).")] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Isolated catalogs and artifacts (default GEOVIGIE_HOME/eval-cache).")
    ] = None,  # noqa: E501
    store: Annotated[bool, typer.Option("--store/--no-store", help="Record the run in the database.")] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    in_process: Annotated[
        bool, typer.Option("--in-process", help="Solve in this process (debugging: no hard timeout, no isolation).")
    ] = False,
    fail_under: Annotated[
        float | None, typer.Option(help="Exit 1 when the overall pass rate is below this (0-1).")
    ] = None,  # noqa: E501
) -> None:
    """Run evaluation suites against the agent; prints a summary, writes reports, stores the run."""
    from geovigie.evals.loader import expand_suite_paths
    from geovigie.evals.report import write_reports
    from geovigie.evals.runner import RunOptions, run_suites
    from geovigie.evals.store import save_run

    if planner not in ("offline", "llm"):
        raise typer.BadParameter("--planner must be offline or llm")
    options = RunOptions(
        planner=planner, endpoint=endpoint, model=model, jobs=jobs, data_root=data_root, cache_dir=cache_dir,  # type: ignore[arg-type]
        timeout_s=timeout, tags=tag or [], case_ids=case or [], progress=progress, isolate=not in_process,
    )  # fmt: skip
    try:
        report = run_suites(expand_suite_paths(suites), options)
        if store:
            save_run(_database(), report)
    except GeoVigieError as exc:
        raise _fail(exc) from None
    _print_summary(report)
    if out is not None:
        json_path, md_path = write_reports(report, out)
        console.print(f"reports: {md_path}  {json_path}")
    console.print(f"run id: {report.run_id}" + ("" if store else " (not stored)"))
    rate = report.overall.get("pass_rate")
    if fail_under is not None and (rate is None or rate < fail_under):
        err_console.print(f"[red]pass rate {rate} is below {fail_under}[/]")
        raise typer.Exit(code=1)


def _print_summary(report: Any) -> None:
    from geovigie.evals.report import KEY_METRICS, fmt

    rows = [(s.name, s.metrics) for s in report.suites] + [("all", report.overall)]
    counts = Table(title=f"GeoVigie eval {report.run_id} ({report.planner}, commit {report.commit or 'n/a'})")
    for col in ("suite", "run", "pass", "fail", "error", "timeout", "skip", "pass rate"):
        counts.add_column(col, justify="left" if col == "suite" else "right")
    for name, m in rows:
        cells = [str(m.get(k, 0)) for k in ("executed", "passed", "failed", "error", "timeout", "skipped")]
        counts.add_row(name, *cells, fmt("pass_rate", m.get("pass_rate")))
    console.print(counts)
    metrics = Table(title="Metrics")
    metrics.add_column("metric", no_wrap=True)
    for name, _ in rows:
        metrics.add_column(name, justify="right")
    for key in KEY_METRICS[1:]:
        if any(key in m for _, m in rows):
            metrics.add_row(key, *(fmt(key, m[key]) if key in m else "" for _, m in rows))
    console.print(metrics)
    for suite in report.suites:
        if suite.skipped_reason:
            console.print(f"[yellow]suite {suite.name} skipped:[/] {suite.skipped_reason}")


@eval_app.command("compare")
def compare_runs(
    run_a: Annotated[str, typer.Argument(help="Baseline: run id (prefix, latest, previous) or report.json path.")],
    run_b: Annotated[str, typer.Argument(help="Candidate: run id (prefix, latest, previous) or report.json path.")],
    show_all: Annotated[bool, typer.Option("--all", help="List unchanged cases too.")] = False,
    fail_on_regression: Annotated[bool, typer.Option(help="Exit 1 when a case regressed.")] = False,
) -> None:
    """Compare two runs case by case: regressions, improvements and metric deltas per suite."""
    from geovigie.evals.report import fmt
    from geovigie.evals.store import compare, load_run

    try:
        db = _database()
        a, b = load_run(db, run_a), load_run(db, run_b)
    except GeoVigieError as exc:
        raise _fail(exc) from None
    result = compare(a, b)
    metrics = Table(title=f"{a.run_id} (A, {a.commit}) → {b.run_id} (B, {b.commit})")
    for col in ("suite", "metric", "A", "B"):
        metrics.add_column(col)
    for suite, values in result.metrics.items():
        for key, (va, vb) in values.items():
            if va != vb:
                metrics.add_row(suite, key, fmt(key, va), fmt(key, vb))
    console.print(metrics)
    cases = Table(title="Cases")
    for col in ("suite", "case", "change", "A", "B", "detail"):
        cases.add_column(col)
    for c in result.cases:
        if show_all or c.change != "same" or c.deltas:
            detail = c.reason or ", ".join(f"{k} {v:+.3f}" for k, v in c.deltas.items())
            style = {"regression": "red", "improvement": "green"}.get(c.change, "")
            cases.add_row(c.suite, c.case_id, f"[{style}]{c.change}[/]" if style else c.change, c.before, c.after,
                          detail[:120])  # fmt: skip
    console.print(cases)
    console.print(f"{len(result.regressions())} regression(s), {len(result.improvements())} improvement(s)")
    if fail_on_regression and result.regressions():
        raise typer.Exit(code=1)


@eval_app.command("list")
def list_stored(limit: Annotated[int, typer.Option(help="How many runs.")] = 20) -> None:
    """List the stored evaluation runs, newest first."""
    from geovigie.evals.report import fmt
    from geovigie.evals.store import list_runs

    table = Table(title="Evaluation runs")
    for col in ("id", "date", "commit", "planner", "suites", "cases", "pass rate"):
        table.add_column(col)
    for row in list_runs(_database(), limit=limit):
        overall = row.metrics.get("overall", {})
        table.add_row(row.id, str(row.metrics.get("meta", {}).get("created_at", row.created_at))[:19], row.commit,
                      row.planner, ", ".join(row.suites), str(overall.get("executed", "")),
                      fmt("pass_rate", overall.get("pass_rate")))  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Mount ``geovigie eval`` on the main CLI."""
    app.add_typer(eval_app, name="eval")


if __name__ == "__main__":  # ``python -m geovigie.evals.cli run ...`` works before the command is mounted
    eval_app()
