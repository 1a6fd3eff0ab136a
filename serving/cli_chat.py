"""The ``geovigie chat`` command: the chat UI and the HTTP API in one process, with the URL to open."""

from __future__ import annotations

import socket
from typing import Annotated, Any

import typer
from rich.console import Console

from geovigie.core.settings import Settings

console = Console()


def _port_free(host: str, port: int) -> bool:
    # Bind once before printing the URL: a busy port must not be announced as the chat's address.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _catalog_size(settings: Settings) -> int | None:
    try:
        from sqlalchemy import func, select

        from geovigie.core.db.models import CatalogItem
        from geovigie.tools.base import ToolContext

        with ToolContext.from_settings(settings).db.session() as session:
            return int(session.scalar(select(func.count()).select_from(CatalogItem)) or 0)
    except Exception:  # the banner's hint is optional; the server reports real problems
        return None


def chat(
    host: Annotated[str | None, typer.Option(help="Bind address (default GEOVIGIE_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default GEOVIGIE_API_PORT).")] = None,
) -> None:
    """Serve the chat UI and the HTTP API on one port and print the URL to open (no browser is started)."""
    import uvicorn

    from geovigie.serving.api.app import create_app
    from geovigie.serving.cli_catalog import NEXT_STEPS

    updates: dict[str, Any] = {}
    if host:
        updates["api_host"] = host
    if port:
        updates["api_port"] = port
    settings = Settings(**updates) if updates else Settings()
    if not _port_free(settings.api_host, settings.api_port):
        console.print(
            f"[bold red]Error:[/] port {settings.api_port} on {settings.api_host} is already in use. "
            "Stop the other server, or pick another port: `geovigie chat --port 8090` (or GEOVIGIE_API_PORT).",
            highlight=False,
        )
        raise typer.Exit(code=2)
    app = create_app(settings, mount_ui=True)
    shown = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    console.print(f"[bold]GeoVigie chat:[/] http://{shown}:{settings.api_port}/  (API under /v1, docs at /docs)")
    console.print("[dim]Ctrl+C to stop.[/]")
    if _catalog_size(settings) == 0:
        console.print(f"No imagery in the catalog yet. {NEXT_STEPS}", highlight=False)
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Mount the ``chat`` command on the main CLI."""
    app.command("chat")(chat)
