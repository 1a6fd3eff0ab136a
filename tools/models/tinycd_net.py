"""TinyCD written here in torch (optional extra): the architecture of Codegoni et al. 2023 (arXiv 2207.13159).

Written from the paper and from the tensor names and shapes of the published checkpoints, so that their
``state_dict`` loads with ``strict=True``:

* ``_backbone``: the first four stages of an EfficientNet-B4 (stem 3->48 /2; MBConv1 x2 48->24; MBConv6 k3 x4
  24->32 /4; MBConv6 k5 x4 32->56 /8), shared by both dates (Siamese);
* ``_first_mix`` and ``_mixing_mask[0..1]``: a *mixing block* (the two dates' channels interleaved, then a grouped
  3x3 convolution that mixes each channel pair, PReLU, instance norm) followed by a pixel-wise MLP (1x1
  convolutions with PReLU) that turns the mixed features into a one-channel spatial attention mask;
* ``_mixing_mask[2]``: a mixing block alone at 1/8 resolution (56 channels);
* ``_up[0..2]``: bilinear x2 upsampling, multiplication by the mask of the next finer scale, a depthwise 3x3 and a
  pointwise convolution (each PReLU + instance norm);
* ``_classify``: a pixel-wise MLP 32->16->8->1 with a sigmoid: the change probability.

Only this module imports torch; it is used to convert checkpoints to ONNX (``geovigie models export``) and by the
tests. Runtime inference goes through onnxruntime.
"""

from __future__ import annotations

import torch
from torch import nn

B4_STAGES = (
    # (expand ratio, kernel, stride, in channels, out channels, layers): EfficientNet-B4 stages 1-3.
    (1, 3, 1, 48, 24, 2),
    (6, 3, 2, 24, 32, 4),
    (6, 5, 2, 32, 56, 4),
)
STEM_CHANNELS = 48


def _conv_bn(cin: int, cout: int, kernel: int, *, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel attention: global mean, 1x1 down (SiLU), 1x1 up (sigmoid), rescale."""

    def __init__(self, channels: int, squeezed: int) -> None:
        """Build the two 1x1 convolutions ``fc1`` and ``fc2``."""
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale the channels of ``x``."""
        scale = torch.sigmoid(self.fc2(nn.functional.silu(self.fc1(x.mean((2, 3), keepdim=True)))))
        return x * scale


class MBConv(nn.Module):
    """Inverted residual block (expand 1x1, depthwise kxk, squeeze-excite, project 1x1), residual when shapes match."""

    def __init__(self, expand: int, kernel: int, stride: int, cin: int, cout: int) -> None:
        """Layers under ``block`` numbered as in the checkpoint."""
        super().__init__()
        hidden = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(cin, hidden, 1))
        layers.append(_conv_bn(hidden, hidden, kernel, stride=stride, groups=hidden))
        layers.append(SqueezeExcite(hidden, max(1, cin // 4)))
        layers.append(_conv_bn(hidden, cout, 1, act=False))
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block (stochastic depth is a training-time identity at inference)."""
        out = self.block(x)
        return out + x if self.residual else out


def efficientnet_b4_stem() -> nn.Sequential:
    """The stem and stages 1-3 of EfficientNet-B4 (outputs at 1/2, 1/2, 1/4, 1/8)."""
    stages: list[nn.Module] = [_conv_bn(3, STEM_CHANNELS, 3, stride=2)]
    for expand, kernel, stride, cin, cout, layers in B4_STAGES:
        blocks = [MBConv(expand, kernel, stride if i == 0 else 1, cin if i == 0 else cout, cout) for i in range(layers)]
        stages.append(nn.Sequential(*blocks))
    return nn.Sequential(*stages)


class Mixing(nn.Module):
    """Interleave the channels of two dates and mix each pair with a grouped 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        """``_convmix``: grouped conv (2 inputs per output channel), PReLU, instance norm."""
        super().__init__()
        self._convmix = nn.Sequential(
            nn.Conv2d(2 * channels, channels, 3, padding=1, groups=channels), nn.PReLU(), nn.InstanceNorm2d(channels)
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mixed features, ``channels`` wide."""
        b, c, h, w = x.shape
        return self._convmix(torch.stack((x, y), dim=2).reshape(b, 2 * c, h, w))


class PixelMLP(nn.Module):
    """1x1 convolutions, each followed by PReLU (or ``last`` after the final one)."""

    def __init__(self, widths: tuple[int, ...], last: nn.Module | None = None) -> None:
        """``widths`` = (in, hidden..., out)."""
        super().__init__()
        blocks = []
        for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            final = i == len(widths) - 2
            act = last if final and last is not None else nn.PReLU()
            blocks.append(nn.Sequential(nn.Conv2d(cin, cout, 1), act))
        self._linears = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel MLP."""
        out: torch.Tensor = self._linears(x)
        return out


class MaskBlock(nn.Module):
    """Mixing block followed by a pixel MLP down to one channel: a spatial attention mask."""

    def __init__(self, channels: int, widths: tuple[int, ...]) -> None:
        """``widths`` of the MLP start with ``channels`` and end with 1."""
        super().__init__()
        self._mixing = Mixing(channels)
        self._linear = PixelMLP(widths)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One-channel mask at the input's resolution."""
        out: torch.Tensor = self._linear(self._mixing(x, y))
        return out


class UpMask(nn.Module):
    """Upsample x2 (bilinear), multiply by the finer scale's mask, depthwise + pointwise convolutions."""

    def __init__(self, cin: int, cout: int) -> None:
        """``_convolution`` numbered as in the checkpoint (0 dw conv, 1 PReLU, 2 IN, 3 pw conv, 4 PReLU, 5 IN)."""
        super().__init__()
        self._convolution = nn.Sequential(
            nn.Conv2d(cin, cin, 3, padding=1, groups=cin), nn.PReLU(), nn.InstanceNorm2d(cin),
            nn.Conv2d(cin, cout, 1), nn.PReLU(), nn.InstanceNorm2d(cout),
        )  # fmt: skip

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Features at twice the resolution of ``x``, gated by ``mask``."""
        up = nn.functional.interpolate(x, size=mask.shape[-2:], mode="bilinear", align_corners=True)
        out: torch.Tensor = self._convolution(up * mask)
        return out


class TinyCD(nn.Module):
    """The TinyCD change network: two RGB images (ImageNet-normalised) -> change probability (B, 1, H, W)."""

    def __init__(self) -> None:
        """Modules named as in the published checkpoints."""
        super().__init__()
        self._backbone = efficientnet_b4_stem()
        self._first_mix = MaskBlock(3, (3, 10, 5, 1))
        self._mixing_mask = nn.ModuleList([MaskBlock(24, (24, 12, 6, 1)), MaskBlock(32, (32, 16, 8, 1)), Mixing(56)])
        self._up = nn.ModuleList([UpMask(56, 64), UpMask(64, 64), UpMask(64, 32)])
        self._classify = PixelMLP((32, 16, 8, 1), last=nn.Sigmoid())

    def forward(self, before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
        """Change probability; H and W must be multiples of 8."""
        masks = [self._first_mix(before, after)]
        x, y = before, after
        for i, stage in enumerate(self._backbone):
            x, y = stage(x), stage(y)
            if i > 0:
                masks.append(self._mixing_mask[i - 1](x, y))
        out = masks[-1]
        for up, mask in zip(self._up, reversed(masks[:-1]), strict=True):
            out = up(out, mask)
        result: torch.Tensor = self._classify(out)
        return result


def load_tinycd(path: str) -> TinyCD:
    """A TinyCD with the weights of a published checkpoint (both key layouts: LEVIR and the older WHU one)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    state = {k.replace("_mixing_mask.2._mixing.", "_mixing_mask.2."): v for k, v in state.items()}
    net = TinyCD()
    net.load_state_dict(state, strict=True)
    return net.eval()
