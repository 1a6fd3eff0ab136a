import shutil
from pathlib import Path

import pytest

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.count import count_objects
from geovigie.tools.models import YOLO_DOTA_OBB, clear_sessions

RGB = [("red", "red"), ("green", "green"), ("blue", "blue")]


def _image(data_dir: Path) -> Path:
    path = data_dir / "dota_samples" / "images" / "P1888.png"
    if not path.is_file():
        pytest.skip(f"DOTA sample not found at {path}")
    return path


def _weights(settings: Settings) -> None:
    if not (settings.models_dir / YOLO_DOTA_OBB.files[0].name).is_file():
        pytest.skip(f"YOLO-OBB weights not found under {settings.models_dir} (set GEOVIGIE_MODELS_DIR)")


def _ctx(settings: Settings, **update) -> ToolContext:
    return ToolContext.from_settings(settings.model_copy(update={"models_enabled": True, **update}))


def test_learned_detector_counts_vehicles_and_cites_the_model(settings, register, data_dir):
    ctx = _ctx(settings)
    _weights(ctx.settings)
    item = register(ctx, _image(data_dir), item_id="p1888", bands=RGB, gsd=None, georeferenced=False, datetime=None)
    out = count_objects.run({"item_id": item, "object": "vehicle", "pixel_size_m": 0.266}, ctx)
    assert out.result.method.startswith("yolov8n-obb-dota")
    assert abs(out.result.count - 64) <= 0.2 * 64  # 50 large + 14 small vehicles labelled
    assert out.provenance.parameters["model"]["licence"] == "AGPL-3.0"
    assert any("AGPL-3.0" in n and "P1888" in n for n in out.notes)
    assert "P1888" in (out.figures[0].uncertainty or "")


def test_out_of_range_pixel_size_or_missing_weights_fall_back_with_a_note(settings, register, data_dir, tmp_path):
    ctx = _ctx(settings)
    item = register(ctx, _image(data_dir), item_id="p1888", bands=RGB, gsd=None, georeferenced=False, datetime=None)
    out = count_objects.run({"item_id": item, "object": "vehicle", "pixel_size_m": 0.9}, ctx)
    assert "yolov8n" not in out.result.method
    assert any("was not used" in n and "0.9 m" in n for n in out.notes)
    empty = _ctx(settings, models_dir=tmp_path / "no-models")
    out = count_objects.run({"item_id": item, "object": "vehicle", "pixel_size_m": 0.266}, empty)
    assert "yolov8n" not in out.result.method and any("not installed" in n for n in out.notes)


def test_corrupt_weights_fall_back_with_the_reason(settings, register, data_dir, tmp_path):
    ctx = _ctx(settings)
    _weights(ctx.settings)
    bad = tmp_path / "bad-models" / YOLO_DOTA_OBB.files[0].name
    bad.parent.mkdir(parents=True)
    with (ctx.settings.models_dir / YOLO_DOTA_OBB.files[0].name).open("rb") as src, bad.open("wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
        dst.truncate(1000)
    clear_sessions()
    broken = _ctx(settings, models_dir=tmp_path / "bad-models")
    item = register(broken, _image(data_dir), item_id="p1888", bands=RGB, gsd=None, georeferenced=False, datetime=None)
    out = count_objects.run({"item_id": item, "object": "ship", "pixel_size_m": 0.266}, broken)
    assert "yolov8n" not in out.result.method and any("truncated" in n for n in out.notes)


def test_objects_only_the_model_finds_are_refused_with_the_reason(settings, register, data_dir, tmp_path):
    from geovigie.core.errors import TerminalError

    ctx = _ctx(settings, models_dir=tmp_path / "no-models")
    item = register(ctx, _image(data_dir), item_id="p1888", bands=RGB, gsd=None, georeferenced=False, datetime=None)
    with pytest.raises(TerminalError, match="needs the learned detector") as err:
        count_objects.run({"item_id": item, "object": "plane", "pixel_size_m": 0.266}, ctx)
    assert "not installed" in err.value.message and "GEOVIGIE_MODELS_DIR" in err.value.hint


def test_oriented_boxes_reach_the_geojson(settings, register, data_dir):
    import json

    ctx = _ctx(settings)
    _weights(ctx.settings)
    item = register(ctx, _image(data_dir), item_id="p1888", bands=RGB, gsd=None, georeferenced=False, datetime=None)
    out = count_objects.run({"item_id": item, "object": "vehicle", "pixel_size_m": 0.266}, ctx)
    collection = json.loads(Path(ctx.artifacts.path_of(out.result.geojson_artifact_id)).read_text())
    rings = [f["geometry"]["coordinates"][0] for f in collection["features"]]
    assert len(rings) == out.result.count and all(len(r) == 5 for r in rings)
    # Oriented: most vehicle boxes in this car park are not axis-aligned rectangles.
    tilted = sum(len({round(x) for x, _ in r[:4]}) > 2 for r in rings)
    assert tilted > len(rings) // 2
