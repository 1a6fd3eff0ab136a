from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from geovigie.core.settings import Settings
from geovigie.tools.models import TINYCD_LEVIR, ChangeModel, ModelUnavailableError, clear_sessions, onnx_path

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="the ONNX export needs the onnx package (torch extra)")

from geovigie.tools.models.export import write_tinycd_onnx  # noqa: E402
from geovigie.tools.models.tinycd_net import TinyCD, load_tinycd  # noqa: E402


def test_random_tinycd_exports_and_onnx_matches_torch(tmp_path):
    torch.manual_seed(0)
    net = TinyCD().eval()
    path = tmp_path / "tiny.onnx"
    write_tinycd_onnx(net, path)
    rng = np.random.default_rng(0)
    before, after = rng.random((2, 3, 60, 44), dtype=np.float32)  # not multiples of 8: padded, cropped back
    clear_sessions()
    model = ChangeModel(card=TINYCD_LEVIR, path=path, device="cpu")
    prob = model.probability(before, after)
    assert prob.shape == (60, 44) and ((prob >= 0) & (prob <= 1)).all()
    mean, std = (np.array(v, dtype=np.float32)[:, None, None] for v in ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
    pad = ((0, 0), (0, 4), (0, 4))
    x, y = (torch.from_numpy(np.pad((a - mean) / std, pad, mode="reflect")[None]) for a in (before, after))
    with torch.no_grad():
        expected = net(x, y)[0, 0, :60, :44].numpy()
    assert np.abs(prob - expected).max() < 1e-4
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        model.probability(before, after[:, :10])


def test_untrained_card_without_conversion_says_how(tmp_path, monkeypatch):
    settings = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    if not (settings.models_dir / TINYCD_LEVIR.files[0].name).is_file():
        pytest.skip(f"TinyCD weights not found under {settings.models_dir}")
    monkeypatch.setattr("geovigie.tools.models.export.torch_available", lambda: False)
    with pytest.raises(ModelUnavailableError, match="not been converted"):
        onnx_path(TINYCD_LEVIR, settings)


@pytest.mark.parametrize("name", ["levir_best.pth", "whu_best.pth"])
def test_published_checkpoints_load_strictly(name):
    path = Settings().models_dir / "tinycd" / name
    if not path.is_file():
        pytest.skip(f"TinyCD weights not found at {path}")
    net = load_tinycd(str(path))
    assert sum(p.numel() for p in net.parameters()) == 285_128


def test_real_levir_model_finds_the_building_change(tmp_path, data_dir: Path):
    settings = Settings(home=tmp_path, _env_file=None)  # type: ignore[call-arg]
    if not (settings.models_dir / TINYCD_LEVIR.files[0].name).is_file():
        pytest.skip(f"TinyCD weights not found under {settings.models_dir}")
    model = ChangeModel.from_settings(TINYCD_LEVIR, settings)
    root = data_dir / "levir_cd_samples"
    name = "test_2_0000_0000.png"
    if not (root / "A" / name).is_file():
        pytest.skip(f"{name} not in the LEVIR-CD samples")
    before, after = (np.asarray(Image.open(root / d / name).convert("RGB"), np.float32).transpose(2, 0, 1) / 255
                     for d in ("A", "B"))  # fmt: skip
    truth = np.asarray(Image.open(root / "label" / name).convert("L")) > 127
    pred = model.probability(before, after) > 0.5
    f1 = 2 * (pred & truth).sum() / (pred.sum() + truth.sum())
    assert f1 > 0.8
