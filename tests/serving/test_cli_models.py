"""``geovigie models list``: every card with its licence, where its weights are, and whether the hash matches."""

from __future__ import annotations

from typer.testing import CliRunner

from geovigie.serving.cli import _register_subcommands, app
from geovigie.tools.models import YOLO_DOTA_OBB

runner = CliRunner()


def test_models_list_shows_missing_corrupt_and_licences(tmp_path, monkeypatch):
    models = tmp_path / "models"
    bad = models / YOLO_DOTA_OBB.files[0].name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not the model")
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GEOVIGIE_MODELS_DIR", str(models))
    _register_subcommands()
    out = runner.invoke(app, ["models", "list"])
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.output.splitlines() if line.strip()}
    assert "AGPL-3.0 (restrictive, optional)" in lines["yolov8n-obb-dota"]
    assert "sha256 BAD" in lines["yolov8n-obb-dota"] and "truncated" in lines["yolov8n-obb-dota"]
    assert "missing (tinycd/levir_best.pth)" in lines["tinycd-levir"]
    assert "non-commercial" in lines["tinycd-whu"]


def test_models_export_reports_a_typed_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GEOVIGIE_MODELS_DIR", str(tmp_path / "none"))
    _register_subcommands()
    out = runner.invoke(app, ["models", "export", "tinycd-levir"])
    assert out.exit_code == 2 and "not found" in out.output
    out = runner.invoke(app, ["models", "export", "nope"])
    assert out.exit_code == 2 and "Unknown model" in out.output
