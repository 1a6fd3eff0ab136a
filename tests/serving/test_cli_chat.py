"""`geovigie chat`: builds the app with the chat mounted and serves it where the settings say."""

from __future__ import annotations

from typing import Any

import typer
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from geovigie.serving import cli_chat


def test_chat_serves_api_and_ui_and_prints_the_url(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    app = typer.Typer()
    cli_chat.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `chat` a named sub-command
    result = CliRunner().invoke(app, ["chat", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert served["host"] == "0.0.0.0" and served["port"] == 8123
    client = TestClient(served["app"])  # no lifespan: the agent is not needed for these two routes
    assert client.get("/healthz").json() == {"status": "ok"}
    # Bound to every interface, keys are required: "/" leads to the chat's sign-in (the chat needs a key).
    assert "sign in with any user name and a geovigie api key" in client.get("/").text.lower()


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_chat.register(app)
    app.command("noop")(lambda: None)
    return app


def test_a_busy_port_fails_before_any_url_is_printed(tmp_path, monkeypatch):
    import socket

    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: (_ for _ in ()).throw(AssertionError("must not serve")))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(_app(), ["chat", "--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 2 and "already in use" in result.output
    assert "http://" not in result.output  # no banner for a server that cannot start


def test_an_empty_catalog_says_what_to_do_and_help_promises_no_browser(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    result = CliRunner().invoke(_app(), ["chat", "--host", "127.0.0.1", "--port", "8124"])
    assert result.exit_code == 0, result.output
    assert "No imagery in the catalog yet" in result.output and "GEOVIGIE_STAC_API_URLS" in result.output
    help_text = CliRunner().invoke(_app(), ["chat", "--help"]).output
    assert "print the URL" in help_text and "in your browser" not in help_text


def test_ingest_samples_on_a_bare_clone_explains_and_succeeds(tmp_path, monkeypatch):
    from geovigie.serving import cli_catalog

    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GEOVIGIE_DATA_DIR", str(tmp_path / "no-samples-here"))
    app = typer.Typer()
    app.command("ingest")(cli_catalog.ingest)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["ingest", "--samples"])
    assert result.exit_code == 0, result.output  # `make chat` goes on to start the chat
    assert "No sample folder" in result.output and "upload a GeoTIFF" in result.output
