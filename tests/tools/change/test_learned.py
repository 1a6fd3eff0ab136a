from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geovigie.tools.base import ToolContext
from geovigie.tools.change import detect_change
from geovigie.tools.models import TINYCD_LEVIR, onnx_cache_path, torch_available

RGB = [("red", "red"), ("green", "green"), ("blue", "blue")]
NAME = "test_2_0000_0000.png"


def _pair(ctx, register, data_dir: Path) -> tuple[str, str, np.ndarray]:
    root = data_dir / "levir_cd_samples"
    if not (root / "A" / NAME).is_file():
        pytest.skip(f"{NAME} not in the LEVIR-CD samples at {root}")
    ids = []
    for folder, date in (("A", "2012-01-01T00:00:00Z"), ("B", "2018-01-01T00:00:00Z")):
        ids.append(register(ctx, root / folder / NAME, item_id=f"levir-{folder}", bands=RGB, gsd=0.5,
                            georeferenced=False, datetime=date))  # fmt: skip
    truth = np.asarray(Image.open(root / "label" / NAME).convert("L")) > 127
    return ids[0], ids[1], truth


def _learned_ctx(settings) -> ToolContext:
    ctx = ToolContext.from_settings(settings.model_copy(update={"models_enabled": True}))
    weights = ctx.settings.models_dir / TINYCD_LEVIR.files[0].name
    if not weights.is_file():
        pytest.skip(f"TinyCD weights not found at {weights}")
    return ctx


def test_tinycd_maps_building_change_and_is_cited(settings, register, data_dir):
    ctx = _learned_ctx(settings)
    if not torch_available():
        pytest.skip("torch (optional extra) is needed once to convert TinyCD to ONNX")
    before, after, truth = _pair(ctx, register, data_dir)
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "urban"}, ctx)
    assert out.provenance.parameters["model"]["name"] == "tinycd-levir"
    assert any("non-commercial" in n and "LEVIR-CD" in n for n in out.notes)
    # The changed share is the label's within a few points (the model's F1 on this crop is ~0.9).
    assert out.result.changed_pct_of_valid == pytest.approx(100 * truth.mean(), abs=4)


def test_generic_change_stays_classical(settings, register, data_dir):
    ctx = _learned_ctx(settings)
    before, after, _ = _pair(ctx, register, data_dir)
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "generic"}, ctx)
    assert "model" not in out.provenance.parameters


def test_without_conversion_the_classical_method_runs_with_a_note(settings, register, data_dir, monkeypatch):
    ctx = _learned_ctx(settings)
    monkeypatch.setattr("geovigie.tools.models.export.torch_available", lambda: False)
    sha = TINYCD_LEVIR.files[0].sha256
    if onnx_cache_path(TINYCD_LEVIR, sha, ctx.settings).is_file():
        pytest.skip("an ONNX conversion is already cached")
    before, after, _ = _pair(ctx, register, data_dir)
    out = detect_change.run({"before_item_id": before, "after_item_id": after, "preset": "urban"}, ctx)
    assert "model" not in out.provenance.parameters
    assert any("TinyCD" in n and "was not used" in n for n in out.notes)
