"""The Sentinel-2 urban-change network trained here on OSCD: a small FC-Siam-diff-style Siamese U-Net (torch).

Both dates go through one shared encoder (three levels); the decoder sees, at each level, the absolute
difference of the two dates' features (Daudt et al., ICIP 2018, "fully convolutional Siamese networks for
change detection", the *diff* variant), so that identical inputs give identical features and the network only
has to learn what a *relevant* difference looks like. Normalisation (per-band mean/std of the training cities)
is part of the module, so the exported ONNX graph takes reflectance directly.

Only training and export need torch (optional extra ``train``); inference goes through the ONNX export
(:mod:`geovigie.tools.models.oscd_runtime`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence

import torch
from torch import nn

DEFAULT_WIDTHS = (8, 16, 32)
"""Channels of the three encoder levels (fixed before any held-out city was looked at)."""


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class SiamDiffUNet(nn.Module):
    """Siamese U-Net with absolute feature differences as skips; output: change logit per pixel.

    Args:
        bands: Number of input bands per date.
        widths: Channels of the three levels.
        mean: Per-band mean of the training reflectances (None: 0).
        std: Per-band standard deviation (None: 1).
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        bands: int,
        widths: Sequence[int] = DEFAULT_WIDTHS,
        *,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        w1, w2, w3 = widths
        self.register_buffer("mean", torch.tensor(mean or [0.0] * bands, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std or [1.0] * bands, dtype=torch.float32).view(1, -1, 1, 1))
        self.enc1, self.enc2, self.enc3 = _block(bands, w1), _block(w1, w2), _block(w2, w3)
        self.pool = nn.MaxPool2d(2)
        self.bottom = _block(w3, w3)
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(w3, w2, 3, padding=1))
        self.dec2 = _block(2 * w2, w2)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(w2, w1, 3, padding=1))
        self.dec1 = _block(2 * w1, w1)
        self.head = nn.Conv2d(w1, 1, 1)

    def _encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = (x - self.mean) / self.std
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        return e1, e2, e3

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """Change logits (N, 1, H, W) of two (N, bands, H, W) reflectance stacks; H and W divisible by 4."""
        a1, a2, a3 = self._encode(before)
        b1, b2, b3 = self._encode(after)
        d = self.bottom(torch.abs(a3 - b3))
        d = self.dec2(torch.cat([self.up2(d), torch.abs(a2 - b2)], dim=1))
        d = self.dec1(torch.cat([self.up1(d), torch.abs(a1 - b1)], dim=1))
        out: torch.Tensor = self.head(d)
        return out


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def export_onnx(model: SiamDiffUNet, path: str, *, bands: int, threshold: float = 0.5) -> None:
    """Write the model as ONNX (inputs ``before``/``after`` (1, bands, H, W) reflectance, output ``logits``).

    The training mean (to fill no data) and the probability threshold go into the graph's metadata.
    """
    model.eval()
    dummy = torch.zeros(1, bands, 64, 64)
    axes = {0: "n", 2: "h", 3: "w"}
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated but needs no onnxscript and gives a plain, small graph.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (dummy, dummy),
            path,
            input_names=["before", "after"],
            output_names=["logits"],
            dynamic_axes={"before": axes, "after": axes, "logits": axes},
            opset_version=17,
            dynamo=False,
        )
    import onnx

    # The runtime fills no-data with the training mean (as training did) and has no torch to read buffers.
    proto = onnx.load(path)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "band_mean", json.dumps(model.mean.flatten().tolist())
    entry = proto.metadata_props.add()
    entry.key, entry.value = "threshold", json.dumps(threshold)
    onnx.save(proto, path)
