"""CLI commands ``geovigie export`` and ``geovigie replay``: answer bundles anyone can re-run."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings
from geovigie.serving.cli_agent import exit_with_error

console = Console()
err_console = Console(stderr=True)


def export(
    target: Annotated[str, typer.Argument(help="THREAD_ID (every answered turn) or THREAD_ID:N (its N-th turn).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder to write, or a path ending in .zip.")] = None,
) -> None:
    """Export an answer as a self-contained bundle: STAC of inputs (checksummed) and outputs, plus run.json."""
    from geovigie.core.db.store import Database
    from geovigie.serving.bundle import export_bundle

    settings = Settings()
    dest = out or Path(f"geovigie-bundle-{target.replace(':', '-turn')}")
    try:
        written = export_bundle(Database(settings.resolved_db_url), settings, target, dest)
    except GeoVigieError as exc:
        raise exit_with_error(exc) from None
    run = _run_of(written)
    validation = run["stac_validation"]
    figures = sum(len(t["figures"]) for t in run["turns"])
    # soft_wrap: paths and counts stay on one line (scripts read them)
    console.print(f"bundle written to {written}", soft_wrap=True)
    console.print(
        f"  {len(run['turns'])} turn(s), {figures} figure(s), {len(run['inputs'])} input scene(s); STAC: "
        f"{validation['objects']} objects, {len(validation['errors'])} error(s) against the core schemas (offline)",
        soft_wrap=True,
    )
    for note in run["notes"]:
        console.print(f"[yellow]note:[/] {note}")


def _run_of(written: Path) -> dict[str, Any]:
    if written.is_dir():
        return dict(json.loads((written / "run.json").read_text(encoding="utf-8")))
    with zipfile.ZipFile(written) as archive:
        return dict(json.loads(archive.read("run.json")))


def replay(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder or zip written by `geovigie export`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Re-run a bundle's recorded calls on its recorded inputs; exit 1 when a figure drifts beyond tolerance."""
    from geovigie.serving.bundle import replay_bundle

    try:
        report = replay_bundle(bundle, Settings())
    except GeoVigieError as exc:
        raise exit_with_error(exc) from None
    if as_json:
        rows = [
            {
                "turn": c.turn,
                "tool": c.tool,
                "name": c.name,
                "unit": c.unit,
                "old": c.old,
                "new": c.new,
                "diff": c.diff,
                "tolerance": c.tolerance,
                "basis": c.basis,
                "ok": c.ok,
            }
            for c in report.checks
        ]
        doc = {"ok": report.ok, "figures": rows, "problems": report.problems, "notes": report.notes}
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        table = Table("turn", "tool", "figure", "old", "new", "diff", "tolerance", "")
        for c in report.checks:
            new = "—" if c.new is None else f"{c.new:.6g}"
            diff = "—" if c.diff is None else f"{c.diff:+.3g}"
            mark = "[green]ok[/]" if c.ok else "[red]DRIFT[/]"
            table.add_row(
                str(c.turn),
                c.tool,
                f"{c.name} ({c.unit})",
                f"{c.old:.6g}",
                new,
                diff,
                f"{c.tolerance:.3g} ({c.basis})",
                mark,
            )
        console.print(table)
        for problem in report.problems:
            console.print(f"[red]problem:[/] {problem}")
        for note in report.notes:
            console.print(f"[dim]{note}[/]")
        drifted = sum(not c.ok for c in report.checks)
        verdict = "[green]replayed: no drift[/]" if report.ok else f"[red]replay failed: {drifted} figure(s) drifted[/]"
        console.print(verdict)
    if not report.ok:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Mount ``export`` and ``replay`` on the main CLI."""
    app.command("export")(export)
    app.command("replay")(replay)
