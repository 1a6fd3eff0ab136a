"""Training of the OSCD urban-change network (torch, CPU): patches, augmentations, imbalance-aware loss.

Everything random comes from one seed (numpy ``Generator`` for patch sampling and augmentation, torch's
generator for initialisation), and torch runs with deterministic algorithms, so two runs with the same seed
and thread count give the same weights. Settings are fixed in :class:`TrainConfig`; none was chosen by looking
at a held-out city (see ``benchmarks/train_oscd.py``).

* **Patches**: ``patch`` x ``patch`` crops; a city is drawn in proportion to its pixel count, and with
  probability ``change_fraction`` the crop is placed around a random changed pixel (changes are 0.3-3.8 % of
  the OSCD pixels: uniform crops would rarely show one).
* **Augmentations**: rot90 x flips (the 8 dihedral transforms), swapping the dates (the label is "changed",
  not a direction), and a per-date, per-band gain of +-5 % (L1C dates differ in sun angle and atmosphere).
* **Loss**: binary cross-entropy with ``pos_weight`` on the changed class plus a soft Dice term, which follows
  F1 directly and does not care how rare the class is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from geovigie.tools.models.oscd_net import DEFAULT_WIDTHS, SiamDiffUNet
from geovigie.tools.models.oscd_runtime import fill_invalid

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CityPair:
    """One labelled pair on one grid: reflectance (bands, H, W) float32 with NaN where invalid."""

    name: str
    before: np.ndarray
    after: np.ndarray
    label: np.ndarray
    """(H, W) bool, True = changed."""


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the defaults are those of the all-city model; LOCO folds use 300 steps)."""

    steps: int = 800
    batch: int = 16
    patch: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    pos_weight: float = 5.0
    dice_weight: float = 1.0
    change_fraction: float = 0.5
    gain_jitter: float = 0.05
    widths: tuple[int, int, int] = DEFAULT_WIDTHS
    seed: int = 0
    threads: int = 1
    """torch threads. One, not two: on a shared 2-core machine two OpenMP threads spin-wait on each other (measured
    2.7 CPU-s per step with 2 threads vs 0.23 with 1 under load); on an idle machine 2 threads are ~1.5x faster."""

    def as_dict(self) -> dict[str, object]:
        """Settings as plain values (for the model card)."""
        return asdict(self)


def band_statistics(cities: Sequence[CityPair]) -> tuple[list[float], list[float]]:
    """Per-band mean and standard deviation over the valid pixels of both dates of the training cities."""
    stacks = [c.before.reshape(c.before.shape[0], -1) for c in cities]
    stacks += [c.after.reshape(c.after.shape[0], -1) for c in cities]
    flat = np.concatenate(stacks, axis=1).astype(np.float64)
    mean = np.nanmean(flat, axis=1)
    std = np.nanstd(flat, axis=1)
    return [float(v) for v in mean], [float(max(v, 1e-6)) for v in std]


class PatchSampler:
    """Random augmented training batches from labelled cities (reproducible from the generator)."""

    def __init__(self, cities: Sequence[CityPair], cfg: TrainConfig, mean: Sequence[float]) -> None:
        self.cfg = cfg
        self.cities = [CityPair(c.name, fill_invalid(c.before, mean), fill_invalid(c.after, mean), c.label)
                       for c in cities]  # fmt: skip
        sizes = np.array([c.label.size for c in cities], float)
        self.weights = sizes / sizes.sum()
        self.changed = [np.argwhere(c.label) for c in cities]

    def _corner(self, k: int, rng: np.random.Generator) -> tuple[int, int]:
        h, w = self.cities[k].label.shape
        p = self.cfg.patch
        if rng.random() < self.cfg.change_fraction and len(self.changed[k]):
            cy, cx = self.changed[k][rng.integers(len(self.changed[k]))]
            y, x = cy - rng.integers(p), cx - rng.integers(p)
        else:
            y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
        return int(np.clip(y, 0, h - p)), int(np.clip(x, 0, w - p))

    def batch(self, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(before, after, label) tensors of one batch."""
        p, n = self.cfg.patch, self.cfg.batch
        bands = self.cities[0].before.shape[0]
        xb = np.empty((n, bands, p, p), np.float32)
        xa = np.empty_like(xb)
        y = np.empty((n, 1, p, p), np.float32)
        for i in range(n):
            k = int(rng.choice(len(self.cities), p=self.weights))
            r, c = self._corner(k, rng)
            city = self.cities[k]
            b, a = city.before[:, r : r + p, c : c + p], city.after[:, r : r + p, c : c + p]
            lab = city.label[None, r : r + p, c : c + p].astype(np.float32)
            if rng.random() < 0.5:
                b, a = a, b
            turns, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
            b, a, lab = (_dihedral(t, turns, flip) for t in (b, a, lab))
            jitter = self.cfg.gain_jitter
            xb[i] = b * rng.uniform(1 - jitter, 1 + jitter, (bands, 1, 1))
            xa[i] = a * rng.uniform(1 - jitter, 1 + jitter, (bands, 1, 1))
            y[i] = lab
        return torch.from_numpy(xb), torch.from_numpy(xa), torch.from_numpy(y)


def _dihedral(t: np.ndarray, turns: int, flip: bool) -> np.ndarray:
    out = np.rot90(t, turns, axes=(1, 2))
    return np.ascontiguousarray(out[:, :, ::-1] if flip else out)


def change_loss(logits: torch.Tensor, target: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """Weighted binary cross-entropy plus soft Dice on the changed class."""
    bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(cfg.pos_weight))
    prob = torch.sigmoid(logits)
    dice = 1 - (2 * (prob * target).sum() + 1) / (prob.sum() + target.sum() + 1)
    return bce + cfg.dice_weight * dice


def train(
    cities: Sequence[CityPair],
    cfg: TrainConfig,
    *,
    progress: Callable[[int, float, float], None] | None = None,
) -> SiamDiffUNet:
    """Train a network on the cities; ``progress(step, mean loss, elapsed s)`` every 100 steps."""
    torch.set_num_threads(cfg.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    mean, std = band_statistics(cities)
    model = SiamDiffUNet(cities[0].before.shape[0], cfg.widths, mean=mean, std=std)
    sampler = PatchSampler(cities, cfg, mean)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1)
    model.train()
    start, running = time.perf_counter(), 0.0
    for step in range(1, cfg.steps + 1):
        xb, xa, y = sampler.batch(rng)
        loss = change_loss(model(xb, xa), y, cfg)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        running += loss.item()
        if step % 100 == 0 or step == cfg.steps:
            done = step % 100 or 100
            if progress is not None:
                progress(step, running / done, time.perf_counter() - start)
            logger.info("oscd train step=%d loss=%.4f elapsed=%.0fs", step, running / done, time.perf_counter() - start)
            running = 0.0
    model.eval()
    return model


@torch.no_grad()
def predict_probability(model: SiamDiffUNet, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Change probability (H, W) of one whole pair (padded to a multiple of 4 by reflection)."""
    mean = model.mean.flatten().tolist()
    h, w = before.shape[1:]
    ph, pw = (-h) % 4, (-w) % 4
    pads = ((0, 0), (0, ph), (0, pw))
    b = np.pad(fill_invalid(before, mean), pads, mode="reflect")
    a = np.pad(fill_invalid(after, mean), pads, mode="reflect")
    model.eval()
    logits = model(torch.from_numpy(b[None]), torch.from_numpy(a[None]))
    prob: np.ndarray = torch.sigmoid(logits)[0, 0, :h, :w].numpy()
    return prob


THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.025), 3)
"""Candidate probability thresholds for :func:`choose_threshold`."""


def choose_threshold(model: SiamDiffUNet, cities: Sequence[CityPair]) -> tuple[float, float]:
    """The threshold with the best mean per-city F1 on the *training* cities, and that F1.

    Training patches are centred on changes half the time, so the network's probabilities are calibrated to a
    far higher share of change than a whole scene holds (0.3-3.8 %): 0.5 over-predicts. The threshold is
    therefore chosen on the cities the network was trained on (never on a held-out city).
    """
    scores = np.zeros(len(THRESHOLDS))
    for city in cities:
        prob = predict_probability(model, city.before, city.after)
        truth = city.label
        for i, t in enumerate(THRESHOLDS):
            pred = prob >= t
            tp = int((pred & truth).sum())
            denom = int(pred.sum()) + int(truth.sum())
            scores[i] += 2 * tp / denom if denom else 0.0
    best = int(np.argmax(scores))
    return float(THRESHOLDS[best]), float(scores[best] / len(cities))
