"""CLI: ``geovigie vlm serve`` (launch vLLM) and ``geovigie doctor`` (what is active and reachable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings
from geovigie.serving.model.profiles import PROFILES
from geovigie.serving.model.vllm_server import (
    LaunchOptions,
    VllmServer,
    build_command,
    ensure_vllm_installed,
    get_profile,
    redacted,
)

console = Console()
err_console = Console(stderr=True)
vlm_app = typer.Typer(help="Serve the vision-language model with vLLM (GPU hosts).", no_args_is_help=True)


@vlm_app.command("serve")
def vlm_serve(
    profile: Annotated[str, typer.Option(help=f"One of: {', '.join(PROFILES)}.")] = "qwen2.5-vl-7b",
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    api_key: Annotated[str | None, typer.Option(help="Require this key (mandatory off loopback).")] = None,
    model_path: Annotated[str | None, typer.Option(help="Local weights folder instead of the hub id.")] = None,
    media_dir: Annotated[Path | None, typer.Option(help="--allowed-local-media-path (default: artifacts).")] = None,
    gpu_memory_utilization: Annotated[float | None, typer.Option(help="Fraction of GPU memory.")] = None,
    tensor_parallel_size: Annotated[int | None, typer.Option(help="GPUs per replica.")] = None,
    max_model_len: Annotated[int | None, typer.Option(help="Context length.")] = None,
    images: Annotated[int | None, typer.Option(help="Images per prompt.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the validated command and exit.")] = False,
) -> None:
    """Build, validate and launch `vllm serve`; polls /health, streams logs, tears down on Ctrl-C."""
    settings = Settings()
    try:
        options = LaunchOptions(
            host=host,
            port=port,
            api_key=api_key,
            model_path=model_path,
            allowed_local_media_path=media_dir or settings.resolved_artifacts_dir.resolve(),
            gpu_memory_utilization=gpu_memory_utilization,
            tensor_parallel_size=tensor_parallel_size,
            max_model_len=max_model_len,
            images_per_prompt=images,
        )
        if options.allowed_local_media_path is not None:
            options.allowed_local_media_path.mkdir(parents=True, exist_ok=True)
        cmd = build_command(get_profile(profile), options)
        if dry_run:
            console.print(redacted(cmd))
            return
        cmd[0] = ensure_vllm_installed()
    except GeoVigieError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            err_console.print(f"[yellow]What to do:[/] {exc.hint}")
        raise typer.Exit(code=2) from None
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(f"starting: {redacted(cmd)}")
    try:
        with VllmServer(cmd, base_url=base, log=lambda line: console.print(f"[dim]{line}[/]")) as server:
            console.print(
                f"[green]ready[/] at {base}/v1 — set GEOVIGIE_LLM_BASE_URL={base}/v1 "
                f"GEOVIGIE_LLM_MODEL={get_profile(profile).served_model_name}"
            )
            assert server.proc is not None
            server.proc.wait()
    except KeyboardInterrupt:
        console.print("stopped")
    except GeoVigieError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.user_message}")
        raise typer.Exit(code=1) from None


def doctor() -> None:
    """Report the active planner and image interpreter, whether endpoints answer, and which catalogs are reachable."""
    from sqlalchemy import func, select

    from geovigie.core.db.models import CatalogItem
    from geovigie.core.db.store import Database

    settings = Settings()
    table = Table(title="GeoVigie doctor", show_header=True)
    table.add_column("check")
    table.add_column("status")
    planner = f"LLM at {settings.llm_base_url} ({settings.llm_model})" if settings.llm_base_url else "offline planner"
    table.add_row("planner", planner)
    vlm = settings.vlm_base_url or settings.llm_base_url
    table.add_row("image interpreter", f"VLM at {vlm}" if vlm else "offline measurement interpreter")
    if settings.llm_base_url:
        table.add_row("LLM endpoint", _probe(settings.llm_base_url.rstrip("/") + "/models", settings.llm_api_key))
    try:
        db = Database(settings.resolved_db_url)
        with db.session() as session:
            n = session.scalar(select(func.count()).select_from(CatalogItem)) or 0
        table.add_row("local catalog", f"ok: {n} items ({settings.resolved_db_url})")
    except GeoVigieError as exc:
        table.add_row("local catalog", f"[red]{exc.user_message}[/]")
    for url in settings.stac_api_urls:
        table.add_row(f"STAC {url}", _probe(url, None))
    table.add_row("sample data", str(settings.data_dir) + ("" if settings.data_dir.is_dir() else " [red](missing)[/]"))
    console.print(table)


def _probe(url: str, key: str | None) -> str:
    try:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        r = httpx.get(url, timeout=5.0, headers=headers)
        return f"[green]reachable[/] (HTTP {r.status_code})" if r.status_code < 500 else f"[red]HTTP {r.status_code}[/]"
    except httpx.HTTPError as exc:
        return f"[red]unreachable[/] ({type(exc).__name__})"


def register(app: typer.Typer) -> None:
    """Mount ``vlm`` and ``doctor``."""
    app.add_typer(vlm_app, name="vlm")
    app.command("doctor")(doctor)
