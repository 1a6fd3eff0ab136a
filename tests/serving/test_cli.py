"""The command line as a user runs it: JSON answers, tool subcommands, clear errors, no tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from geovigie.serving.cli import _register_subcommands, app

_register_subcommands()
runner = CliRunner()


@pytest.fixture
def home(tmp_path, monkeypatch, make_geotiff):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GEOVIGIE_LLM_BASE_URL", raising=False)
    data = np.zeros((4, 60, 60), np.uint16)
    data[:, :, :30] = [[[300]], [[600]], [[200]], [[100]]]  # water-like left half (blue, green, red, nir)
    data[:, :, 30:] = [[[400]], [[700]], [[600]], [[3500]]]  # vegetation right half
    path = make_geotiff(data, name="lake_2020-06-01.tif", descriptions=["B02", "B03", "B04", "B08"])
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_tool_subcommand_runs_with_key_value_arguments(home):
    result = runner.invoke(app, ["tool", "segment", "item_id=lake_2020-06-01.tif", "target=water", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["result"]["target"] == "water" and 0.4 < out["result"]["fraction"] < 0.6
    assert out["provenance"]["scenes"][0]["datetime"].startswith("2020-06-01")


def test_ask_json_returns_answer_with_trace(home):
    result = runner.invoke(app, ["ask", "--json", "What is the water extent in lake_2020-06-01.tif?"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["status"] == "answered" and answer["trace"][-1]["tool"] == "segment"
    assert answer["figures"] and answer["thread_id"]


def test_errors_are_one_actionable_line_not_a_traceback(home):
    result = runner.invoke(app, ["tool", "segment", "item_id=nope.tif", "target=water"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "No image or catalog item named" in result.output and "What to do" in result.output
    result = runner.invoke(app, ["ask", "   "])
    assert result.exit_code == 2 and "empty" in result.output


def test_doctor_and_vlm_dry_run(home):
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0 and "offline planner" in result.output and "1 items" in result.output
    result = runner.invoke(app, ["vlm", "serve", "--dry-run"])
    assert result.exit_code == 0 and "--tool-call-parser hermes" in result.output.replace("\n", " ")
    result = runner.invoke(app, ["vlm", "serve", "--host", "0.0.0.0", "--dry-run"])
    assert result.exit_code == 2 and "API key" in result.output
