"""CLI command ``geovigie mcp``: serve the tools and ``ask`` to MCP clients over stdio or streamable HTTP."""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import Annotated

import typer

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings


class Transport(StrEnum):
    """MCP transports of the official SDK."""

    stdio = "stdio"
    http = "http"


def mcp(
    transport: Annotated[
        Transport, typer.Option("--transport", "-t", help="stdio (a client starts this process) or http.")
    ] = Transport.stdio,
    host: Annotated[str, typer.Option(help="Bind address for http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for http (endpoint /mcp).")] = 8765,
) -> None:
    """Serve GeoVigie's tools, `ask` and resources to MCP clients (Claude Desktop, IDEs, other agents).

    Over http the API keys and rate limits of `geovigie serve` apply (keys required unless bound to loopback).
    """
    from geovigie.serving.api.app import build_service

    # stdout is the protocol channel on stdio: everything else (logs, warnings) goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, force=True)
    settings = Settings()
    try:
        service = build_service(settings)
    except GeoVigieError as exc:
        sys.stderr.write(f"Error: {exc.user_message}\n")
        raise typer.Exit(code=2) from None
    if transport is Transport.stdio:
        from geovigie.serving.mcp import run_stdio

        run_stdio(service)
        return
    import uvicorn

    from geovigie.serving.mcp import mcp_http_app

    app = mcp_http_app(service, settings=settings, host=host)
    sys.stderr.write(f"GeoVigie MCP server on http://{host}:{port}/mcp\n")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Mount ``mcp`` on the main CLI."""
    app.command("mcp")(mcp)
