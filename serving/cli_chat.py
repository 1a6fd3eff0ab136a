"""The ``geovigie chat`` command: the chat UI and the HTTP API in one process, with the URL to open."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from geovigie.core.settings import Settings

console = Console()


def chat(
    host: Annotated[str | None, typer.Option(help="Bind address (default GEOVIGIE_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default GEOVIGIE_API_PORT).")] = None,
) -> None:
    """Open the GeoVigie chat in your browser (same as `geovigie serve --ui`)."""
    import uvicorn

    from geovigie.serving.api.app import create_app

    updates: dict[str, Any] = {}
    if host:
        updates["api_host"] = host
    if port:
        updates["api_port"] = port
    settings = Settings(**updates) if updates else Settings()
    app = create_app(settings, mount_ui=True)
    shown = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    console.print(f"[bold]GeoVigie chat:[/] http://{shown}:{settings.api_port}/  (API under /v1, docs at /docs)")
    console.print("[dim]Ctrl+C to stop. No imagery yet? Run `geovigie ingest --samples` first.[/]")
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Mount the ``chat`` command on the main CLI."""
    app.command("chat")(chat)
