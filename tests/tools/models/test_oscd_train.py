from dataclasses import replace
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch (extra 'train') is needed to train the OSCD network")

from geovigie.tools.models.oscd_train import (  # noqa: E402
    CityPair,
    PatchSampler,
    TrainConfig,
    band_statistics,
    choose_threshold,
    predict_probability,
    train,
)

TINY = TrainConfig(steps=3, batch=4, patch=32, widths=(4, 8, 8), seed=3, threads=1)


def _city(seed: int, size: int = 80) -> CityPair:
    """A synthetic pair: noise on both dates, a bright square appears on date 2 (the change)."""
    rng = np.random.default_rng(seed)
    before = rng.normal(0.1, 0.01, (10, size, size)).astype(np.float32)
    after = before + rng.normal(0, 0.005, before.shape).astype(np.float32)
    label = np.zeros((size, size), bool)
    label[20:36, 40:56] = True
    after[:, label] = 0.3
    before[0, 0, 0] = np.nan  # no data must not poison the statistics or the batches
    return CityPair(f"synthetic{seed}", before, after, label)


def _weights(model: Any) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_training_is_deterministic_under_the_seed():
    cities = [_city(0), _city(1)]
    a, b = train(cities, TINY), train(cities, TINY)
    assert all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(b), strict=True))
    c = train(cities, replace(TINY, seed=4))
    assert not all(np.array_equal(x, y) for x, y in zip(_weights(a), _weights(c), strict=True))
    prob = predict_probability(a, cities[0].before, cities[0].after)
    assert prob.shape == (80, 80) and np.isfinite(prob).all() and ((prob >= 0) & (prob <= 1)).all()


def test_progress_is_reported_with_the_loss():
    seen: list[tuple[int, float]] = []
    train([_city(0)], replace(TINY, steps=100), progress=lambda step, loss, _s: seen.append((step, loss)))
    assert [s for s, _ in seen] == [100] and np.isfinite(seen[0][1])


def test_batches_oversample_changes_and_are_augmented_consistently():
    city = _city(0)
    cfg = replace(TINY, batch=64, change_fraction=0.5)
    mean, std = band_statistics([city])
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    xb, xa, y = PatchSampler([city], cfg, mean).batch(np.random.default_rng(0))
    assert xb.shape == xa.shape == (64, 10, 32, 32) and y.shape == (64, 1, 32, 32)
    assert torch.isfinite(xb).all() and torch.isfinite(xa).all()
    # The square is 4 % of the city; centred crops put it in at least half the patches.
    assert (y.flatten(1).amax(1) > 0).float().mean() >= 0.5
    # Wherever the label says changed, one of the two dates holds the bright square (dates may be swapped).
    changed = y[:, 0] > 0
    assert (torch.maximum(xb[:, 0], xa[:, 0])[changed] > 0.25).all()


def test_threshold_is_chosen_on_the_training_cities():
    cities = [_city(0), _city(1)]
    model = train(cities, replace(TINY, steps=60, lr=1e-2))
    threshold, f1 = choose_threshold(model, cities)
    assert 0.05 <= threshold <= 0.975 and 0.0 <= f1 <= 1.0
    # It is the best of the candidates on those cities: no other gives a higher mean F1.
    probs = [predict_probability(model, c.before, c.after) for c in cities]

    def mean_f1(t: float) -> float:
        return float(np.mean([2 * (p >= t)[c.label].sum() / ((p >= t).sum() + c.label.sum())
                              for p, c in zip(probs, cities, strict=True)]))  # fmt: skip

    assert mean_f1(threshold) == pytest.approx(f1)
    assert all(mean_f1(t) <= f1 + 1e-9 for t in (0.1, 0.3, 0.5, 0.7, 0.9))
