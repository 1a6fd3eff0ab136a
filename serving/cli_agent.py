"""CLI commands around the agent: ask, serve, chat, keys, doctor."""

from __future__ import annotations

import json
import re
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markdown import Markdown

from geovigie.core.errors import GeoVigieError
from geovigie.core.settings import Settings
from geovigie.serving.api.schemas import THREAD_ID

console = Console()
err_console = Console(stderr=True)


def _valid_thread(value: str | None) -> str | None:
    """Thread ids are 1-64 letters, digits, ``_``, ``.`` or ``-`` (the API's rule): refuse others at once."""
    if value is not None and not re.fullmatch(THREAD_ID, value):
        raise typer.BadParameter("use 1-64 letters, digits, '_', '.' or '-'")
    return value


def exit_with_error(exc: GeoVigieError) -> typer.Exit:
    """Print a typed error for a person (message, then what to do) and the exit to raise (code 2)."""
    err_console.print(f"[bold red]Error:[/] {exc.message}")
    if exc.hint:
        err_console.print(f"[yellow]What to do:[/] {exc.hint}")
    return typer.Exit(code=2)


def ask(
    question: Annotated[str, typer.Argument(help="Your question, in French or English.")],
    thread: Annotated[
        str | None, typer.Option("--thread", help="Continue this thread id.", callback=_valid_thread)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured answer as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not show tool steps.")] = False,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="Run large analyses (over GEOVIGIE_CONFIRM_PIXELS) without asking.")
    ] = False,
) -> None:
    """Ask GeoVigie a question; prints the answer with its evidence (tool steps stream to stderr)."""
    from geovigie.serving.api.app import build_service

    settings = Settings()
    try:
        service = build_service(settings)
        final: dict[str, Any] | None = None
        for event in service.stream(question, thread_id=thread, confirm_large_runs=confirm):
            if event["type"] == "final":
                final = event["answer"]
            elif not quiet and not as_json:
                _print_event(event)
    except GeoVigieError as exc:
        raise exit_with_error(exc) from None
    assert final is not None
    if as_json:
        sys.stdout.write(json.dumps(final, indent=2, ensure_ascii=False) + "\n")
        return
    console.print(Markdown(final["text"]))
    for art in final["artifacts"]:
        console.print(f"[dim]artifact {art['role']}: {art['path']}[/]")
    console.print(f"[dim]thread: {final['thread_id']}  (continue with --thread {final['thread_id']})[/]")


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "tool_started":
        args = json.dumps(event["args"], ensure_ascii=False)
        err_console.print(f"[cyan]→ {event['tool']}[/] {args[:160]}")
    elif kind == "tool_finished":
        mark = "[green]✓[/]" if event["ok"] else "[red]✗[/]"
        err_console.print(f"  {mark} {event['duration_s']:.1f}s {event['summary'].splitlines()[0][:200]}")
    elif kind == "tool_progress":
        err_console.print(f"  [dim]… {event['message']} ({event['fraction']:.0%})[/]")


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default GEOVIGIE_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default GEOVIGIE_API_PORT).")] = None,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Also serve the chat UI at /.")] = True,
) -> None:
    """Run the HTTP API (and the chat UI) in one process."""
    import uvicorn

    from geovigie.serving.api.app import create_app

    updates: dict[str, Any] = {}
    if host:
        updates["api_host"] = host
    if port:
        updates["api_port"] = port
    settings = Settings(**updates) if updates else Settings()
    app = create_app(settings, mount_ui=ui)
    console.print(f"GeoVigie API on http://{settings.api_host}:{settings.api_port}  (docs at /docs)")
    uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_level="warning")


keys_app = typer.Typer(help="Manage API keys of the HTTP service.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    rate: Annotated[int, typer.Option(help="Requests per minute (1 or more).", min=1)] = 60,
) -> None:
    """Create an API key (the secret is shown once; only its hash is stored)."""
    from geovigie.core.db.store import Database
    from geovigie.serving.api.security import create_key

    settings = Settings()
    settings.ensure_dirs()
    key_id, secret = create_key(Database(settings.resolved_db_url), name=name, rate_per_minute=rate)
    console.print(f"key id: {key_id}\nsecret: {secret}\n[yellow]Store the secret now: it cannot be shown again.[/]")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id to revoke.")]) -> None:
    """Revoke an API key."""
    from geovigie.core.db.store import Database
    from geovigie.serving.api.security import revoke_key

    settings = Settings()
    if not revoke_key(Database(settings.resolved_db_url), key_id):
        err_console.print(f"[red]No key {key_id!r}.[/]")
        raise typer.Exit(code=2)
    console.print(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    """Mount the agent commands on the main CLI."""
    app.command("ask")(ask)
    app.command("serve")(serve)
    app.add_typer(keys_app, name="keys")
