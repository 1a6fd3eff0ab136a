from pathlib import Path

import numpy as np
import pytest

from geovigie.tools.models import CSMASK_6B, ModelDomainError, ModelUnavailableError, cloud_shadow, csmask_available

needs_csmask = pytest.mark.skipif(not csmask_available(), reason="ukis-csmask is an optional extra (geovigie[csmask])")


def test_not_installed_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("geovigie.tools.models.csmask.csmask_available", lambda: False)
    with pytest.raises(ModelUnavailableError, match="ukis-csmask"):
        cloud_shadow({"blue": np.zeros((4, 4))}, pixel_size_m=10.0)


@needs_csmask
def test_wrong_bands_or_pixel_size_are_refused():
    four = {b: np.full((64, 64), 0.1, np.float32) for b in ("blue", "green", "red")}
    with pytest.raises(ModelDomainError, match="missing: nir"):
        cloud_shadow(four, pixel_size_m=10.0)
    four["nir"] = four["red"]
    with pytest.raises(ModelDomainError, match="60 m"):
        cloud_shadow(four, pixel_size_m=250.0)


@needs_csmask
def test_runs_at_30_m_and_returns_masks_on_the_input_grid():
    rng = np.random.default_rng(0)
    bands = {b: (0.05 + 0.02 * rng.random((200, 190))).astype(np.float32) for b in CSMASK_6B.bands}
    for b in bands.values():
        b[40:120, 30:110] = 0.8  # a large bright white patch
    bands["red"][0, 0] = np.nan
    out = cloud_shadow(bands, pixel_size_m=10.0)
    assert out.factor == 3 and out.card is CSMASK_6B and out.info["work_pixel_m"] == 30.0
    assert out.cloud.shape == out.shadow.shape == (200, 190)
    assert not out.cloud[0, 0] and not out.shadow[0, 0]
    assert out.cloud[50:110, 40:100].mean() > out.cloud[150:, 130:].mean()


@needs_csmask
def test_flood_water_is_not_called_shadow_at_30_m(data_dir: Path):
    rasterio = pytest.importorskip("rasterio")
    chip = data_dir / "sen1floods11_sample" / "Spain_7370579_S2Hand.tif"
    if not chip.is_file():
        pytest.skip(f"Sen1Floods11 chip not found at {chip}")
    with rasterio.open(chip) as src:
        data = src.read().astype(np.float32) / 10_000
    with rasterio.open(chip.with_name("Spain_7370579_LabelHand.tif")) as src:
        water = src.read(1) == 1
    bands = {name: data[i] for name, i in zip(CSMASK_6B.bands, (1, 2, 3, 7, 11, 12), strict=True)}
    at_30 = cloud_shadow(bands, pixel_size_m=10.0, level="l1c")
    at_10 = cloud_shadow(bands, pixel_size_m=30.0, level="l1c")  # no averaging: the network sees 10 m pixels
    assert at_30.shadow[water].mean() < 0.1 < 0.3 < at_10.shadow[water].mean()
