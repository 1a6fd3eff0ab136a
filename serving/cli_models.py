"""CLI: ``geovigie models list`` (learned models, where their weights are, licence, hash check) and ``export``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings

console = Console()
err_console = Console(stderr=True)
models_app = typer.Typer(help="Learned models: what is available, where from, licence.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """List the known models: task, licence, where the weights were found (or missing) and whether the hash is ok."""
    from geovigie.tools.models import availability, list_cards

    settings = Settings()
    table = Table(title=f"Models (GEOVIGIE_MODELS_DIR={settings.models_dir})")
    for column in ("name", "task", "version", "licence", "weights", "sha256"):
        table.add_column(column)
    for card in list_cards():
        state = availability(card, settings)
        where = f"{state.source}: {state.path}" if state.path is not None else state.problem
        sha = {True: "ok", False: f"[red]BAD[/] {state.problem}", None: "-"}[state.sha_ok]
        licence = f"{card.licence} (restrictive)" if card.restrictive else card.licence
        table.add_row(card.name, card.task, card.version, licence, where, sha)
    console.print(table)
    if not settings.models_enabled:
        console.print("[yellow]GEOVIGIE_MODELS_ENABLED=false: tools use their classical methods only.[/]")


@models_app.command("export")
def models_export(
    name: Annotated[str, typer.Argument(help="Model to convert to ONNX (tinycd-levir, tinycd-whu).")],
) -> None:
    """Convert a torch checkpoint to ONNX in the models cache (needs the optional torch extra)."""
    from geovigie.tools.models import export_onnx, get_card

    settings = Settings()
    try:
        path = export_onnx(get_card(name), settings)
    except GeoVigieError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]What to do:[/] {exc.hint}")
        raise typer.Exit(code=2) from None
    console.print(f"{name}: ONNX at {path}")


def register(app: typer.Typer) -> None:
    """Mount ``geovigie models ...`` on the main command."""
    app.add_typer(models_app, name="models")
