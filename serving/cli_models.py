"""CLI: ``geovigie models list`` (learned models, where their weights are, licence, hash check) and ``export``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings

console = Console()
err_console = Console(stderr=True)
models_app = typer.Typer(help="Learned models: what is available, where from, licence.", no_args_is_help=True)


@models_app.command("list")
def models_list() -> None:
    """List the known models: task, licence, where the weights were found (or missing) and whether the hash is ok."""
    from geovigie.tools.models import availability, list_cards, onnx_cache_path

    settings = Settings()
    console.print(f"models folder: {settings.models_dir} (GEOVIGIE_MODELS_DIR)", soft_wrap=True)
    for card in list_cards():
        state = availability(card, settings)
        where = f"{state.source}: {state.path}" if state.path is not None else state.problem
        sha = {True: "sha256 ok", False: f"sha256 BAD ({state.problem})", None: "-"}[state.sha_ok]
        licence = f"{card.licence} (restrictive, optional)" if card.restrictive else card.licence
        if state.sha_ok and card.files[0].name.endswith(".pth"):
            done = onnx_cache_path(card, card.files[0].sha256, settings).is_file()
            sha += "  onnx cached" if done else f"  onnx not converted yet (geovigie models export {card.name})"
        console.print(
            f"[bold]{card.name}[/]  {card.task}  v{card.version}  licence {licence}  weights {where}  {sha}",
            soft_wrap=True, highlight=False,
        )  # fmt: skip
    if not settings.models_enabled:
        console.print("[yellow]GEOVIGIE_MODELS_ENABLED=false: tools use their classical methods only.[/]")


@models_app.command("export")
def models_export(
    name: Annotated[
        str, typer.Argument(help="Model to convert to ONNX (tinycd-levir, tinycd-whu, presto, galileo_nano).")
    ],
) -> None:
    """Convert a torch checkpoint to ONNX in the models cache (needs the optional torch extra)."""
    from geovigie.tools.embed import GALILEO, PRESTO, galileo_onnx, presto_onnx
    from geovigie.tools.models import export_onnx, get_card

    settings = Settings()
    try:
        # Presto's architecture lives in the embed room (above models), so its export is dispatched here.
        if name == GALILEO.name:
            path = galileo_onnx(settings)  # default patch size; others are exported on first use
        else:
            path = presto_onnx(settings) if name == PRESTO.name else export_onnx(get_card(name), settings)
    except GeoVigieError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]What to do:[/] {exc.hint}")
        raise typer.Exit(code=2) from None
    console.print(f"{name}: ONNX at {path}")


def register(app: typer.Typer) -> None:
    """Mount ``geovigie models ...`` on the main command."""
    app.add_typer(models_app, name="models")
