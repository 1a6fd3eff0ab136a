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
    assert "gradio" in client.get("/").text.lower()  # the chat at /
