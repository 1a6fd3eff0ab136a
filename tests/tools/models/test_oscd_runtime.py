from pathlib import Path

import numpy as np
import pytest

from geovigie.core.errors import ConfigError
from geovigie.tools.models import oscd_runtime
from geovigie.tools.models.oscd_runtime import BANDS, OscdChangeModel

pytest.importorskip("onnxruntime", reason="onnxruntime runs the exported OSCD network")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small randomly initialised network of the same architecture, exported to ONNX."""
    torch = pytest.importorskip("torch", reason="torch (extra 'train') exports the test network")
    pytest.importorskip("onnx", reason="onnx writes the exported graph")
    from geovigie.tools.models.oscd_net import SiamDiffUNet, export_onnx

    torch.manual_seed(0)
    model = SiamDiffUNet(len(BANDS), (4, 8, 8), mean=[0.1] * len(BANDS), std=[0.05] * len(BANDS)).eval()
    path = tmp_path_factory.mktemp("oscd") / "tiny.onnx"
    export_onnx(model, str(path), bands=len(BANDS))
    return path


def _pair(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    before = rng.uniform(0.02, 0.3, (len(BANDS), h, w)).astype(np.float32)
    return before, (before + rng.normal(0, 0.05, before.shape)).astype(np.float32)


def test_tiled_inference_matches_one_pass_inside_tiles(tiny_onnx):
    model = OscdChangeModel.from_file(tiny_onnx, sha256=oscd_runtime.sha256_of(tiny_onnx))
    assert model.band_mean == pytest.approx([0.1] * len(BANDS))
    assert model.threshold == 0.5  # exported without a chosen threshold: the default
    before, after = _pair(150, 203)  # not multiples of 4: padded and cropped back
    whole = model.probability(before, after, tile=512)
    tiled = model.probability(before, after, tile=64)
    assert whole.shape == (150, 203) and ((whole >= 0) & (whole <= 1)).all()
    # 32 px of context around each tile: the tiny network (receptive radius < 32 px) gives the same pixels.
    assert np.abs(whole - tiled).max() < 1e-4


def test_no_data_is_filled_not_propagated(tiny_onnx):
    model = OscdChangeModel.from_file(tiny_onnx, sha256=None)
    before, after = _pair(40, 40)
    after[:, :5, :5] = np.nan
    prob = model.probability(before, after)
    assert np.isfinite(prob).all()


def test_wrong_checksum_missing_file_and_foreign_graph_are_config_errors(tiny_onnx, tmp_path):
    with pytest.raises(ConfigError, match="SHA-256"):
        OscdChangeModel.from_file(tiny_onnx, sha256="0" * 64)
    with pytest.raises(ConfigError, match="does not exist"):
        OscdChangeModel.from_file(tmp_path / "absent.onnx", sha256=None)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(tiny_onnx.read_bytes()[:500])
    with pytest.raises(ConfigError, match="not a valid ONNX"):
        OscdChangeModel.from_file(truncated, sha256=None)
