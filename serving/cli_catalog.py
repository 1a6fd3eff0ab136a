"""``geovigie ingest`` and ``geovigie catalog``: fill and list the local imagery catalog."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from geovigie.core.errors import GeoVigieError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import IngestReport, all_scenes, ingest_paths

console = Console()
err_console = Console(stderr=True)


NEXT_STEPS = (
    "The chat works without it. To get imagery: upload a GeoTIFF in the chat's Data tab, set "
    "GEOVIGIE_STAC_API_URLS to a STAC API, or set GEOVIGIE_DATA_DIR to the sample folder and run "
    "`geovigie ingest --samples` again."
)
"""What to do when there is no imagery (also printed by ``geovigie chat`` on an empty catalog)."""


def _fail(exc: GeoVigieError) -> typer.Exit:
    err_console.print(f"[bold red]Error: {exc.user_message}[/]", soft_wrap=True, highlight=False)
    return typer.Exit(code=2)


class _TqdmProgress:
    """A tqdm bar driven by ``progress(fraction, message)`` calls, opened on the first call."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, fraction: float, message: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=100, desc="ingest", unit="%", leave=False, file=sys.stderr)
        self._bar.set_postfix_str(message[:40], refresh=False)
        step = int(fraction * 100) - self._bar.n
        if step > 0:
            self._bar.update(step)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _print_report(report: IngestReport, *, verbose: bool) -> None:
    counts = report.counts()
    table = Table(title="Ingest summary", caption=f"{report.elapsed_s:.1f} s")
    table.add_column("result")
    table.add_column("count", justify="right")
    for key in ("added", "updated", "unchanged", "skipped"):
        table.add_row(key, str(counts[key]))
    console.print(table)
    if not report.skipped:
        return
    if verbose:
        detail = Table(title="Skipped files")
        detail.add_column("file")
        detail.add_column("reason")
        for skipped in report.skipped:
            detail.add_row(skipped.path, skipped.reason)
        console.print(detail)
        return
    reasons = Counter(s.reason for s in report.skipped)
    example = {s.reason: Path(s.path).name for s in report.skipped}
    summary = Table(title="Skipped (use --verbose for every file)")
    summary.add_column("reason")
    summary.add_column("files", justify="right")
    summary.add_column("example")
    for reason, count in reasons.most_common():
        summary.add_row(reason, str(count), example[reason])
    console.print(summary)


def ingest(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (walked recursively).")] = None,
    pixel_size: Annotated[
        float | None,
        typer.Option("--pixel-size", help="Ground pixel size in metres for images without georeferencing."),
    ] = None,
    samples: Annotated[bool, typer.Option("--samples", help="Ingest the sample data folder (data_dir).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every skipped file.")] = False,
) -> None:
    """Add local rasters (GeoTIFF, ENVI, PNG/JPEG, per-band products) to the catalog."""
    settings = Settings()
    targets = list(paths or [])
    try:
        if samples:
            if not settings.data_dir.is_dir():
                # A bare clone has no samples: not an error (`make chat` goes on to start the chat).
                console.print(f"No sample folder at {str(settings.data_dir)!r}: nothing ingested.", highlight=False)
                console.print(NEXT_STEPS, highlight=False)
                if not targets:
                    return
            else:
                targets.append(settings.data_dir)
        if not targets:
            raise ToolInputError("Nothing to ingest.", hint="Give one or more files or folders, or --samples.")
        ctx = ToolContext.from_settings(settings)
        progress = _TqdmProgress()
        try:
            report = ingest_paths(targets, ctx.db, pixel_size_m=pixel_size, progress=progress)
        finally:
            progress.close()
    except GeoVigieError as exc:
        raise _fail(exc) from None
    _print_report(report, verbose=verbose)


def catalog(
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Most rows shown (0 = all).")] = 100,
) -> None:
    """List the items of the local catalog: id, date, collection, pixel size, bands."""
    try:
        ctx = ToolContext.from_settings(Settings())
        scenes = [s for s in all_scenes(ctx.db) if collection is None or s.collection == collection]
    except GeoVigieError as exc:
        raise _fail(exc) from None
    shown = scenes if limit <= 0 else scenes[:limit]
    table = Table(title=f"Local catalog: {len(scenes)} item(s)")
    # Ids are what the user copies: fold long ones rather than truncate them, and keep the others readable.
    table.add_column("id", overflow="fold", ratio=3)
    table.add_column("date", no_wrap=True)
    table.add_column("collection", overflow="fold", ratio=2)
    table.add_column("gsd (m)", justify="right", no_wrap=True)
    table.add_column("bands", ratio=2)
    for scene in shown:
        precision = scene.properties.get("geovigie:date_precision")
        when = scene.datetime[:10] if scene.datetime else "unknown"
        if precision in ("year", "month"):
            when = scene.datetime[: 4 if precision == "year" else 7] if scene.datetime else when
        gsd = f"{scene.gsd:g}" if scene.gsd is not None else "?"
        names = scene.band_names()
        bands = ", ".join(names) if len(names) <= 6 else f"{len(names)}: {', '.join(names[:4])}, ..."
        table.add_row(scene.id, when, scene.collection or "", gsd, bands)
    console.print(table)
    if len(shown) < len(scenes):
        console.print(f"[dim]{len(scenes) - len(shown)} more (use --limit 0 to show all).[/]")


def register(app: typer.Typer) -> None:
    """Add the ``ingest`` and ``catalog`` commands to the ``geovigie`` app."""
    app.command("ingest")(ingest)
    app.command("catalog")(catalog)
