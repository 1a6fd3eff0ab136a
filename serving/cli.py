"""The ``geovigie`` command line: top of the dependency graph, wires settings, tools, agent, API and UI."""

from __future__ import annotations

import json
import logging
import sys
import warnings
from typing import Annotated, Any

import typer
from rasterio.errors import NotGeoreferencedWarning
from rich.console import Console

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings

app = typer.Typer(
    name="geovigie",
    help="GeoVigie: ask questions about places and risks, answered from satellite imagery with provenance.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
tool_app = typer.Typer(help="Run one tool directly (arguments as key=value pairs or --json).", no_args_is_help=True)
app.add_typer(tool_app, name="tool")

console = Console()
err_console = Console(stderr=True)


def fail(exc: GeoVigieError) -> typer.Exit:
    """Print a typed error as one actionable line and return the exit to raise."""
    err_console.print(f"[bold red]Error:[/] {exc.message}")
    if exc.hint:
        err_console.print(f"[yellow]What to do:[/] {exc.hint}")
    return typer.Exit(code=2)


def parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """Turn ``key=value`` pairs into a dict, decoding JSON values (numbers, lists, null) when possible."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise typer.BadParameter(f"expected key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            out[key.strip().replace("-", "_")] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip().replace("-", "_")] = raw
    return out


@tool_app.command("list")
def tool_list() -> None:
    """List the registered tools and their arguments."""
    from geovigie.tools.registry import TOOLS

    for tool in TOOLS.values():
        fields = ", ".join(tool.input_model.model_fields)
        first_line = tool.description.splitlines()[0]
        console.print(f"[bold]{tool.name.replace('_', '-')}[/]({fields})\n    {first_line}")


def run_tool_command(key: str, pairs: list[str], json_args: str | None, as_json: bool) -> None:
    """Run a tool once and print its summary, figures, provenance and artifacts."""
    from geovigie.tools.base import ToolContext
    from geovigie.tools.registry import TOOLS

    args: dict[str, Any] = json.loads(json_args) if json_args else {}
    args.update(parse_pairs(pairs))
    settings = Settings()
    try:
        ctx = ToolContext.from_settings(settings, progress=_progress_printer())
        output = TOOLS[key].run(args, ctx)
    except GeoVigieError as exc:
        raise fail(exc) from None
    if as_json:
        sys.stdout.write(output.model_dump_json(indent=2) + "\n")
        return
    console.print(output.summary)
    for fig in output.figures:
        extra = f" ({fig.uncertainty})" if fig.uncertainty else ""
        console.print(f"  [cyan]{fig.name}[/] = {fig.value:g} {fig.unit}{extra}")
    prov = output.provenance
    console.print(f"[dim]method: {prov.method}; crs: {prov.crs}; pixel: {prov.pixel_size_m} m[/]")
    for scene in prov.scenes:
        console.print(f"[dim]  scene {scene.item_id} {scene.datetime} gsd={scene.gsd_m}[/]")
    for note in output.notes:
        console.print(f"[yellow]note:[/] {note}")
    for art in output.artifacts:
        console.print(f"  artifact {art.role}: {art.path}")


def _make_tool_command(key: str, description: str) -> None:
    def command(
        pairs: Annotated[list[str] | None, typer.Argument(help="Arguments as key=value (JSON values allowed).")] = None,
        json_args: Annotated[str | None, typer.Option("--args", help="Arguments as one JSON object.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON.")] = False,
    ) -> None:
        run_tool_command(key, pairs or [], json_args, as_json)

    command.__doc__ = description.split("\n\n")[0]
    tool_app.command(key.replace("_", "-"))(command)


def _progress_printer() -> Any:
    from tqdm import tqdm

    bar: dict[str, Any] = {}

    def progress(fraction: float, message: str) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=100, desc="working", leave=False, file=sys.stderr)
        pbar = bar["bar"]
        pbar.set_description(message[:40])
        pbar.n = int(fraction * 100)
        pbar.refresh()
        if fraction >= 1:
            pbar.close()
            bar.clear()

    return progress


def _register_subcommands() -> None:
    """Mount the command groups of each area (kept in their own modules)."""
    from geovigie.evals import cli as eval_cli
    from geovigie.serving import cli_agent, cli_bundle, cli_catalog, cli_chat, cli_mcp, cli_model, cli_models
    from geovigie.tools.registry import TOOLS

    cli_catalog.register(app)
    cli_agent.register(app)
    cli_chat.register(app)
    cli_model.register(app)
    cli_models.register(app)
    eval_cli.register(app)
    cli_mcp.register(app)
    cli_bundle.register(app)
    from geovigie.serving import cli_runs

    cli_runs.register(app)
    for key, tool in TOOLS.items():
        _make_tool_command(key, tool.description)


def main() -> None:
    """Entry point of the ``geovigie`` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # GDAL's notes on quirky files (e.g. TIFF ExtraSamples) are not actionable for users of the CLI.
    logging.getLogger("rasterio").setLevel(logging.ERROR)
    # Plain PNG/JPEG images are first-class inputs: rasterio's "not georeferenced" warning is expected noise.
    warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    _register_subcommands()
    app()


if __name__ == "__main__":
    main()
