"""``geovigie runs``: long tiled runs (Dask) with their state and coverage; cancel one from another shell."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from geovigie.core.settings import Settings

console = Console()
runs_app = typer.Typer(help="Long tiled runs: list them, cancel one.", no_args_is_help=True)


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20) -> None:
    """List the latest tiled runs (an interrupted one resumes when the same question is asked again)."""
    from geovigie.core.db.store import Database
    from geovigie.tools.raster import list_runs, recover_runs

    db = Database(Settings().resolved_db_url)
    recover_runs(db)  # runs whose process is gone are shown as interrupted
    for run in list_runs(db, limit=limit):
        failed = f", {run.failed_tiles} failed" if run.failed_tiles else ""
        console.print(f"{run.id}  {run.state:<11} {run.done_tiles}/{run.total_tiles} tiles{failed} "
                      f"({run.coverage:.0%})  {run.title}")  # fmt: skip


@runs_app.command("cancel")
def runs_cancel(run_id: Annotated[str, typer.Argument(help="Run id (from `geovigie runs list`).")]) -> None:
    """Ask the process driving a run to stop it at its next tile (done tiles are kept)."""
    from geovigie.core.db.store import Database
    from geovigie.tools.raster import request_cancel

    if not request_cancel(Database(Settings().resolved_db_url), run_id):
        console.print(f"[red]No running run {run_id!r}.[/]")
        raise typer.Exit(code=2)
    console.print(f"cancel requested for {run_id}")


def register(app: typer.Typer) -> None:
    """Mount ``runs`` on the main CLI."""
    app.add_typer(runs_app, name="runs")
