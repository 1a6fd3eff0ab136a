"""Galileo nano in torch: the checkpoint loads strictly, the fixed tables match it, masking works, and the trained
encoder separates land cover on real data clearly better than the same architecture with random weights."""

from pathlib import Path

import numpy as np
import pytest

from geovigie.core.settings import Settings
from geovigie.tools.embed import fit_logistic

torch = pytest.importorskip("torch", reason="torch (optional extra) is needed to build the Galileo encoder")

from geovigie.tools.embed.galileo_card import _shift_div  # noqa: E402
from geovigie.tools.embed.galileo_embed import cube, tile_side, token_missing  # noqa: E402
from geovigie.tools.embed.galileo_net import (  # noqa: E402
    MAX_STEPS,
    GalileoEncoder,
    load_galileo,
    random_galileo,
    resize_matrix,
    sincos,
)

EOLEARN_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
S2 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")


def _folder() -> Path:
    folder = Settings().models_dir / "galileo_nano"
    if not (folder / "encoder.pt").is_file():
        pytest.skip(f"Galileo nano checkpoint absent ({folder}; see ../shared/models/SOURCES.md)")
    return folder


def test_checkpoint_loads_strictly_and_its_fixed_tables_are_the_sincos_we_compute() -> None:
    net = load_galileo(str(_folder() / "encoder.pt"))  # strict=True: no missing or unexpected key
    state = torch.load(_folder() / "encoder.pt", map_location="cpu", weights_only=True)
    assert set(state) == set(net.state_dict())
    # The checkpoint's time table is our frequency ladder, and its month table the one random_galileo builds:
    # the spatial code, built with the same ladder, is then the one the model was trained with.
    assert torch.allclose(net.pos_embed, sincos(torch.arange(MAX_STEPS), 32), atol=1e-6)
    assert torch.allclose(net.month_embed.weight, random_galileo().month_embed.weight, atol=1e-6)


def test_resized_kernel_keeps_the_8px_kernel_and_masked_tokens_change_nothing() -> None:
    assert torch.allclose(resize_matrix(8, 8), torch.eye(64), atol=1e-5)
    net = random_galileo(1, patch=2)
    x = torch.rand(1, 8, 8, 2, 13)
    missing = torch.zeros(1, 4, 4, 2, 7)
    missing[..., 0] = 1.0  # no S1
    months = torch.tensor([[3, 4]])
    with torch.no_grad():
        ref = net(x, missing, months)
        changed = x.clone()
        changed[..., :2] = 5.0  # S1 values under the mask
        assert torch.allclose(net(changed, missing, months), ref, atol=1e-5)
        unmasked = net(changed, torch.zeros_like(missing), months)
    assert ref.shape == (1, 4, 4, 128)
    assert not torch.allclose(unmasked, ref, atol=1e-3)
    with pytest.raises(ValueError, match="patch size 9"):
        GalileoEncoder(patch=9)


def _eolearn() -> tuple[list[dict[str, np.ndarray]], np.ndarray, list[int]]:
    import rasterio

    folder = Settings().data_dir / "eolearn_slovenia_s2"
    if not (folder / "LULC.tif").is_file():
        pytest.skip(f"eo-learn sample absent ({folder}; see ../shared/data/SOURCES.md)")
    with rasterio.open(folder / "S2_L1C_20150711.tif") as src:
        arr = src.read().astype(np.float32)
    with rasterio.open(folder / "LULC.tif") as src:
        labels = src.read(1).astype(int)
    return [{b: arr[EOLEARN_ORDER.index(b)] for b in S2}], labels, [6]


def _embed(net: GalileoEncoder, steps: list[dict[str, np.ndarray]], months: list[int]) -> np.ndarray:
    shift, div = _shift_div(str(_folder() / "normalization.json"))
    x, present = cube(steps, shift, div)
    h, w = x.shape[:2]
    side, p = tile_side(net.patch, len(steps)), net.patch
    out = np.zeros((h, w, 128), np.float32)
    for r in range(0, h, side):
        for c in range(0, w, side):
            xs, ps = x[r : r + side, c : c + side], present[r : r + side, c : c + side]
            pad = ((0, side - xs.shape[0]), (0, side - xs.shape[1]), (0, 0), (0, 0))
            real = np.pad(np.ones(xs.shape[:2], bool), pad[:2])
            xs, ps = np.pad(xs, pad, mode="edge"), np.pad(ps, pad)
            with torch.no_grad():
                o = net(torch.from_numpy(xs)[None], torch.from_numpy(token_missing(ps, p, real))[None],
                        torch.tensor([months]))[0].numpy()  # fmt: skip
            o = np.repeat(np.repeat(o, p, 0), p, 1)
            out[r : r + side, c : c + side] = o[: min(side, h - r), : min(side, w - c)]
    return out.reshape(h * w, 128)


def _few_shot(features: np.ndarray, labels: np.ndarray, cols: np.ndarray) -> tuple[float, float]:
    """Accuracy and macro F1, 50 px per class from the west half, tested on the east half (space kept apart)."""
    rng = np.random.default_rng(0)
    classes = [c for c in np.unique(labels) if c > 0 and (labels[cols < 50] == c).sum() >= 20]
    train = np.concatenate([rng.choice(np.flatnonzero((cols < 50) & (labels == c)), 50, replace=True) for c in classes])
    test = np.flatnonzero((cols >= 50) & np.isin(labels, classes))
    clf = fit_logistic(features[train], np.searchsorted(classes, labels[train]), [str(c) for c in classes])
    pred = np.array(classes)[clf.predict(features[test])]
    truth = labels[test]
    f1 = []
    for c in classes:
        tp, fp, fn = (
            np.sum((pred == c) & (truth == c)),
            np.sum((pred == c) & (truth != c)),
            np.sum((pred != c) & (truth == c)),
        )
        f1.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float((pred == truth).mean()), float(np.mean(f1))


def test_trained_encoder_separates_land_cover_clearly_better_than_random_weights() -> None:
    steps, labels, months = _eolearn()
    torch.set_num_threads(2)
    trained = _embed(load_galileo(str(_folder() / "encoder.pt")), steps, months)
    random = _embed(random_galileo(0), steps, months)
    flat = labels.reshape(-1)
    cols = np.arange(flat.size) % labels.shape[1]
    acc_t, f1_t = _few_shot(trained, flat, cols)
    acc_r, f1_r = _few_shot(random, flat, cols)
    assert acc_t > acc_r + 0.1 and f1_t > f1_r, (acc_t, f1_t, acc_r, f1_r)
    # Unsupervised: forest pixels are closer to forest than to grassland in the trained space.
    unit = trained / np.linalg.norm(trained, axis=1, keepdims=True)
    forest, grass = unit[flat == 2][::20], unit[flat == 3][::5]
    assert (forest @ forest.T).mean() > (forest @ grass.T).mean()
