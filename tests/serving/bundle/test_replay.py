"""Export then replay an answer recorded by the real turn service (synthetic scene: runs without the sample data)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
from typer.testing import CliRunner

from geovigie.serving.api.app import build_service
from geovigie.serving.bundle import REPLAY_KEY, export_bundle, replay_bundle, tolerance_of
from geovigie.serving.cli import _register_subcommands, app

LAKE = "lake-2020-06-01"
_register_subcommands()
runner = CliRunner()


@pytest.fixture
def answered(settings, ctx, make_geotiff, register) -> tuple[Any, Any, Path]:
    """A recorded turn that measured water on a synthetic scene: (service, answer, scene path)."""
    rng = np.random.default_rng(2)
    green, nir, swir = (np.full((80, 80), v, np.uint16) for v in (800, 3000, 2500))
    green[:, :35], nir[:, :35], swir[:, :35] = 1200, 300, 150
    data = np.stack([green, nir, swir]) + rng.integers(0, 40, (3, 80, 80)).astype(np.uint16)
    path = make_geotiff(data, name="lake.tif")
    register(ctx, path, item_id=LAKE, bands=[("B03", "green"), ("B08", "nir"), ("B11", "swir16")], scale=0.0001)
    service = build_service(settings)
    answer = service.ask(f"What is the water area in {LAKE}?")
    assert answer.status == "answered" and any(f.name == "water area" for f in answer.figures)
    return service, answer, path


def test_turn_records_inputs_and_the_bundle_replays_with_zero_drift_from_anywhere(answered, settings, tmp_path):
    service, answer, scene = answered
    record = next(m for m in _messages(service, answer.thread_id) if m["role"] == "assistant")
    assert record["payload"][REPLAY_KEY]["inputs"][LAKE]["stac"]["assets"]["data"]["href"] == str(scene)

    folder = export_bundle(service.ctx.db, settings, answer.thread_id, tmp_path / "bundle")
    run = json.loads((folder / "run.json").read_text())
    assert run["stac_validation"]["errors"] == [] and run["stac_validation"]["objects"] >= 3
    call = run["turns"][0]["calls"][0]
    assert call["tool"] == "segment" and call["args"]["item_id"] == LAKE
    assert run["turns"][0]["thresholds"][0]["parameters"]["water_source"]
    collection = pystac.Collection.from_file(str(folder / "collection.json"))
    items = {i.id: i for i in collection.get_items(recursive=True)}
    lake_asset = items[LAKE].assets["data"]
    assert lake_asset.extra_fields["geovigie:sha256"] == hashlib.sha256(scene.read_bytes()).hexdigest()
    outputs = [i for i in items.values() if i.properties["geovigie:role"] == "geovigie:output"]
    assert {Path(i.assets["data"].href).suffix for i in outputs} >= {".tif", ".geojson", ".png"}
    assert all(i.assets["data"].href.startswith("../outputs/") for i in outputs)  # relative: the folder moves

    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(folder, moved)
    shutil.rmtree(folder)
    report = replay_bundle(moved, settings)
    assert report.ok, (report.problems, report.checks)
    assert report.checks and all(c.diff == 0 for c in report.checks)

    zipped = export_bundle(service.ctx.db, settings, f"{answer.thread_id}:1", tmp_path / "b.zip")
    assert zipped.suffix == ".zip" and replay_bundle(zipped, settings).ok


def test_a_tampered_figure_or_input_fails_the_replay(answered, settings, tmp_path, monkeypatch):
    service, answer, scene = answered
    folder = export_bundle(service.ctx.db, settings, answer.thread_id, tmp_path / "bundle")
    run_file = folder / "run.json"
    run = json.loads(run_file.read_text())
    water = next(f for f in run["turns"][0]["figures"] if f["name"] == "water area")
    water["value"] *= 1.01
    run_file.write_text(json.dumps(run))
    report = replay_bundle(folder, settings)
    drifted = [c for c in report.checks if not c.ok]
    assert not report.ok and [c.name for c in drifted] == ["water area"]
    assert drifted[0].diff == pytest.approx(-water["value"] / 1.01 * 0.01)

    monkeypatch.setenv("GEOVIGIE_HOME", str(settings.home))
    result = runner.invoke(app, ["replay", str(folder)])
    assert result.exit_code == 1 and "DRIFT" in result.stdout

    exported = runner.invoke(app, ["export", answer.thread_id, "-o", str(tmp_path / "clean")])
    assert exported.exit_code == 0 and "0 error(s) against the core schemas" in exported.stdout
    clean = tmp_path / "clean"
    assert runner.invoke(app, ["replay", str(clean)]).exit_code == 0
    with scene.open("r+b") as handle:  # one byte of the input changes: replay refuses to compare
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))
    report = replay_bundle(clean, settings)
    assert not report.ok and any("differs from the recorded bytes" in p for p in report.problems)


def test_tolerance_is_the_stated_uncertainty_else_exact():
    tol, basis = tolerance_of(200.0, "10%")
    assert tol == pytest.approx(20.0) and basis == "stated uncertainty 10%"
    assert tolerance_of(5.0, "±0.5 ha", "ha")[0] == pytest.approx(0.5)
    tol, basis = tolerance_of(1e6, None)  # float rounding only
    assert tol == pytest.approx(1e-3) and basis == "exact"
    assert tolerance_of(3.0, "about a tenth")[1].startswith("exact")
    # a model's measured accuracy is not a ± on the value; a figure in m² with an uncertainty in ha is not either
    assert tolerance_of(120.0, "model tinycd: F1 0.81 on LEVIR-CD")[0] == pytest.approx(1.2e-7)
    assert tolerance_of(5e4, "0.5 ha", "m²")[1].startswith("exact")


def test_export_of_an_unknown_thread_is_a_clear_cli_error(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("GEOVIGIE_HOME", str(settings.home))
    result = runner.invoke(app, ["export", "no-such-thread", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2 and "No thread" in result.output and "Traceback" not in result.output


def _messages(service: Any, thread_id: str) -> list[dict[str, Any]]:
    from geovigie.serving.api.recorder import thread_record

    record = thread_record(service.ctx.db, thread_id)
    assert record is not None
    return list(record["messages"])
