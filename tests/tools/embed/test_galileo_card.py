"""The Galileo nano card: registered, its normalisation read from normalization.json, its ONNX export equal to torch."""

import json

import numpy as np
import pytest

from geovigie.core.settings import Settings
from geovigie.tools.embed import GALILEO, galileo_onnx
from geovigie.tools.embed.galileo_card import _shift_div, galileo_normalisation
from geovigie.tools.models import ModelUnavailableError, get_card


def test_card_is_registered_with_its_three_files_and_licence() -> None:
    assert get_card("galileo_nano") is GALILEO
    assert GALILEO.licence == "MIT" and not GALILEO.restrictive and GALILEO.task == "embedding"
    assert [f.name.split("/")[-1] for f in GALILEO.files] == ["encoder.pt", "config.json", "normalization.json"]


def test_normalisation_is_mean_minus_two_std_over_four_std_and_ndvi_is_left_raw(tmp_path) -> None:
    stats = {"13": {"mean": [float(i) for i in range(13)], "std": [2.0] * 13}}
    path = tmp_path / "normalization.json"
    path.write_text(json.dumps(stats))
    shift, div = _shift_div(str(path))
    assert shift[3] == pytest.approx(3 - 4.0) and div[3] == pytest.approx(8.0)
    assert shift[12] == 0.0 and div[12] == 1.0


def test_missing_files_are_a_typed_error(tmp_path) -> None:
    settings = Settings(models_dir=tmp_path, models_cache_dir=tmp_path / "cache")  # type: ignore[call-arg]
    with pytest.raises(ModelUnavailableError):
        galileo_normalisation(settings)
    with pytest.raises(ModelUnavailableError):
        galileo_onnx(settings)


def test_onnx_export_equals_torch_at_other_sizes_than_the_example(tmp_path) -> None:
    torch = pytest.importorskip("torch", reason="torch (optional extra) exports the graph")
    from geovigie.tools.embed.galileo_card import write_galileo_onnx
    from geovigie.tools.embed.galileo_net import random_galileo
    from geovigie.tools.models import session

    net = random_galileo(3, patch=4)
    target = tmp_path / "g.onnx"
    write_galileo_onnx(net, target)
    sess = session(target, "cpu")
    rng = np.random.default_rng(0)
    for side, steps in ((24, 1), (12, 3)):
        x = rng.random((1, side, side, steps, 13), np.float32)
        missing = (rng.random((1, side // 4, side // 4, steps, 7)) < 0.3).astype(np.float32)
        months = rng.integers(0, 12, (1, steps))
        out = sess.run(None, {"x": x, "missing": missing, "months": months})[0]
        with torch.no_grad():
            ref = net(torch.from_numpy(x), torch.from_numpy(missing), torch.from_numpy(months)).numpy()
        assert out.shape == (1, side // 4, side // 4, 128)
        assert np.abs(out - ref).max() < 1e-4
