"""Galileo nano (Tseng et al. 2025, arXiv 2502.09356) in torch, written here to match the published encoder.

Galileo turns a multimodal space-time cube into tokens: every channel group of every date becomes, for each
``patch x patch`` square, one token through its own patch-embedding convolution (the "space-time" groups: S1,
S2 RGB, red edge, NIR 10 m, NIR 20 m, SWIR, NDVI); static or time-only groups (topography, land cover, weather,
location...) have their own projections. A token's position is ``[channel group (32) | time step (32) | month
(32) | space (32)]`` added to it: learnt group vectors, the checkpoint's sinusoidal time table, its month table,
and a 2-D sinusoidal code of the patch's column and row scaled by the ground size of a patch. A small ViT (4
blocks, 8 heads, 128 wide, separate q/k/v) mixes every token with every other, then a final LayerNorm.

The checkpoint's convolutions are 8 x 8; a smaller patch uses the kernel resized by the pseudo-inverse of the
bicubic resize (FlexiViT), so that a resized patch gives the same projection as the original one.

GeoVigie feeds only the space-time groups (S1, S2 and NDVI): the other groups are always missing, so they are left
out of the graph (a missing token takes no part in attention). Missing tokens (an absent band group, nodata) are
masked by an additive attention bias, which equals dropping them. The embedding of a patch is the mean of its
unmasked tokens over dates and channel groups.

Tensor names and shapes follow ``encoder.pt`` (loaded with ``strict=True``); the unused projections are declared
so that the checkpoint loads strictly. torch is an optional extra, imported by the caller.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

SPACE_TIME: dict[str, tuple[int, ...]] = {
    "S1": (0, 1),
    "S2_RGB": (2, 3, 4),
    "S2_Red_Edge": (5, 6, 7),
    "S2_NIR_10m": (8,),
    "S2_NIR_20m": (9,),
    "S2_SWIR": (10, 11),
    "NDVI": (12,),
}
"""Space-time channel groups in checkpoint order -> input channels (VV, VH, B2, B3, B4, B5, B6, B7, B8, B8A, B11,
B12, NDVI)."""
SPACE = {"SRTM": 2, "DW": 9, "WC": 5}
TIME = {"ERA5": 2, "TC": 3, "VIIRS": 1}
STATIC = {"LS": 1, "location": 3, "DW_static": 9, "WC_static": 5}
CHANNELS = 13
WIDTH = 128
QUARTER = WIDTH // 4
HEADS = 8
DEPTH = 4
MAX_STEPS = 24
MAX_PATCH = 8
BASE_GSD_M = 10.0
MASKED_BIAS = -1e9
"""Attention bias of a masked key: exp underflows to exactly 0 in float32, as if the token were absent."""


def sincos(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """(N, dim) sinusoidal code of positions: ``[sin(p w_i) | cos(p w_i)]`` with ``w_i = 10000^(-i / (2 dim))``.

    This is the frequency ladder the checkpoint's own time table was built with (a test checks it against
    ``pos_embed``): the exponent is ``i / (2 dim)``, not the ``2 i / dim`` of the original Transformer.
    """
    freqs = 1.0 / 10_000 ** (torch.arange(dim // 2, dtype=torch.float32) / dim / 2.0)
    angles = positions.reshape(-1, 1).float() * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def space_code(side: int, patch_m: float) -> torch.Tensor:
    """(side, side, 32) position of each patch of a square grid: ``[code(column) | code(row)]``.

    Positions count in ground patch sizes relative to 10 m (a 4-pixel patch at 10 m is 4 apart).
    """
    ratio = patch_m / BASE_GSD_M
    idx = torch.arange(side, dtype=torch.float32) * ratio
    rows, cols = torch.meshgrid(idx, idx, indexing="ij")
    return torch.cat([sincos(cols, QUARTER // 2), sincos(rows, QUARTER // 2)], dim=1).reshape(side, side, QUARTER)


def resize_matrix(old: int, new: int) -> torch.Tensor:
    """(new², old²) map from an ``old x old`` kernel to the ``new x new`` kernel that sees a resized patch alike.

    With ``R`` the bicubic (antialiased) resize of patches, we want ``<R x, k_new> = <x, k_old>`` for every patch
    ``x``: ``k_new = pinv(R^T) k_old`` (least squares when the patch shrinks).
    """
    basis = torch.eye(old * old, dtype=torch.float64).reshape(old * old, 1, old, old)
    resized = F.interpolate(basis.float(), size=(new, new), mode="bicubic", antialias=True).double()
    as_matrix = resized.reshape(old * old, new * new)  # row i: the resize of the i-th basis patch, i.e. R^T
    return torch.linalg.pinv(as_matrix).float()


class PatchEmbed(nn.Module):
    """A patch-embedding convolution stored at 8 x 8, applied at any patch size (resized kernel)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels, WIDTH, kernel_size=MAX_PATCH, stride=MAX_PATCH)
        self._kernels: dict[int, torch.Tensor] = {}

    def kernel(self, patch: int) -> torch.Tensor:
        """The convolution kernel for ``patch x patch`` patches (computed once per size, then reused)."""
        if patch == MAX_PATCH:
            return self.proj.weight
        if patch not in self._kernels:
            out_c, in_c = self.proj.weight.shape[:2]
            flat = self.proj.weight.detach().reshape(out_c, in_c, MAX_PATCH * MAX_PATCH)
            resized = torch.einsum("no,dco->dcn", resize_matrix(MAX_PATCH, patch), flat)
            self._kernels[patch] = resized.reshape(out_c, in_c, patch, patch)
        return self._kernels[patch]

    def forward(self, x: torch.Tensor, patch: int) -> torch.Tensor:
        """(N, C, H, W) -> (N, 128, H / patch, W / patch)."""
        return F.conv2d(x, self.kernel(patch), self.proj.bias, stride=patch)


class Attention(nn.Module):
    """Multi-head self-attention with separate q, k, v projections and an additive key bias."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(WIDTH, WIDTH)
        self.k = nn.Linear(WIDTH, WIDTH)
        self.v = nn.Linear(WIDTH, WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Attend over tokens ``x`` (B, N, C) with key bias (B, N): 0 visible, MASKED_BIAS masked."""
        b, n, c = x.shape
        d = c // HEADS

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, HEADS, d).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = (q @ k.transpose(-2, -1)) * d**-0.5 + bias[:, None, None, :]
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)  # type: ignore[no-any-return]


class Mlp(nn.Module):
    """Two linear layers with an (exact) GELU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(WIDTH, 4 * WIDTH)
        self.fc2 = nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP."""
        return self.fc2(F.gelu(self.fc1(x)))  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(WIDTH)
        self.attn = Attention()
        self.norm2 = nn.LayerNorm(WIDTH)
        self.mlp = Mlp()

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Attention then MLP, each with a residual."""
        x = x + self.attn(self.norm1(x), bias)
        return x + self.mlp(self.norm2(x))  # type: ignore[no-any-return]


class GalileoEncoder(nn.Module):
    """Galileo nano's encoder, run on space-time groups only; ``patch`` and ``pixel_m`` fix the token size."""

    def __init__(self, patch: int = 4, pixel_m: float = 10.0) -> None:
        super().__init__()
        if not 1 <= patch <= MAX_PATCH:
            raise ValueError(f"patch size {patch} outside 1-{MAX_PATCH}")
        self.patch = patch
        self.pixel_m = pixel_m
        self.pos_embed = nn.Parameter(torch.zeros(MAX_STEPS, QUARTER), requires_grad=False)
        self.month_embed = nn.Embedding(12, QUARTER)
        self.s_t_channel_embed = nn.Parameter(torch.zeros(len(SPACE_TIME), QUARTER))
        self.sp_channel_embed = nn.Parameter(torch.zeros(len(SPACE), QUARTER))
        self.t_channel_embed = nn.Parameter(torch.zeros(len(TIME), QUARTER))
        self.st_channel_embed = nn.Parameter(torch.zeros(len(STATIC), QUARTER))
        self.space_time_embed = nn.ModuleDict({g: PatchEmbed(len(idx)) for g, idx in SPACE_TIME.items()})
        # Declared for strict loading only: GeoVigie never has these inputs (their tokens would all be masked).
        self.space_embed = nn.ModuleDict({g: PatchEmbed(c) for g, c in SPACE.items()})
        self.time_embed = nn.ModuleDict({g: nn.Linear(c, WIDTH) for g, c in TIME.items()})
        self.static_embed = nn.ModuleDict({g: nn.Linear(c, WIDTH) for g, c in STATIC.items()})
        self.blocks = nn.ModuleList(Block() for _ in range(DEPTH))
        self.norm = nn.LayerNorm(WIDTH)

    def tokens(self, x: torch.Tensor, months: torch.Tensor) -> torch.Tensor:
        """(B, h, w, T, G, 128) projected and position-coded tokens of ``x`` (B, H, W, T, 13)."""
        b, height, width, t, _ = x.shape
        p = self.patch
        h, w = height // p, width // p
        frames = x.permute(0, 3, 4, 1, 2).reshape(b * t, CHANNELS, height, width)
        groups = [self.space_time_embed[g](frames[:, list(idx)], p) for g, idx in SPACE_TIME.items()]
        proj = torch.stack(groups, dim=1).reshape(b, t, len(SPACE_TIME), WIDTH, h, w).permute(0, 4, 5, 1, 2, 3)
        g = len(SPACE_TIME)
        shape = (b, h, w, t, g, QUARTER)
        channel = self.s_t_channel_embed[None, None, None, None, :, :].expand(shape)
        step = self.pos_embed[:t][None, None, None, :, None, :].expand(shape)
        month = self.month_embed(months)[:, None, None, :, None, :].expand(shape)
        space = space_code(h, p * self.pixel_m)[None, :, :, None, None, :].expand(shape)
        return proj + torch.cat([channel, step, month, space], dim=-1)  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor, missing: torch.Tensor, months: torch.Tensor) -> torch.Tensor:
        """Per-patch embeddings (B, H / patch, W / patch, 128).

        Args:
            x: (B, H, W, T, 13) normalised inputs, H = W a multiple of ``patch``.
            missing: (B, H / patch, W / patch, T, 7) 1 where a token is missing (group absent, nodata), else 0.
            months: (B, T) int64 months 0-11.
        """
        tok = self.tokens(x, months)
        b, h, w, t, g, c = tok.shape
        seq = tok.reshape(b, h * w * t * g, c)
        hidden = missing.reshape(b, h * w * t * g)
        bias = hidden * MASKED_BIAS
        for block in self.blocks:
            seq = block(seq, bias)
        seq = self.norm(seq).reshape(b, h, w, t * g, c)
        keep = (1.0 - missing.reshape(b, h, w, t * g))[..., None]
        return (seq * keep).sum(dim=3) / keep.sum(dim=3).clamp(min=1.0)  # type: ignore[no-any-return]


def load_galileo(path: str, *, patch: int = 4, pixel_m: float = 10.0) -> GalileoEncoder:
    """Build the encoder and load ``encoder.pt`` with strict key and shape matching.

    Raises:
        RuntimeError: the checkpoint's tensors do not match the architecture (torch's message names them).
    """
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    net = GalileoEncoder(patch, pixel_m)
    net.load_state_dict(state, strict=True)
    return net.eval()


def random_galileo(seed: int = 0, *, patch: int = 4) -> GalileoEncoder:
    """An encoder with random weights and the real fixed tables (the baseline a trained encoder must beat)."""
    torch.manual_seed(seed)
    net = GalileoEncoder(patch)
    with torch.no_grad():
        net.pos_embed.copy_(sincos(torch.arange(MAX_STEPS), QUARTER))
        months = torch.arange(12, dtype=torch.float32) * (2 * math.pi / 12)
        half = QUARTER // 2
        net.month_embed.weight.copy_(
            torch.cat([months.sin()[:, None].repeat(1, half), months.cos()[:, None].repeat(1, half)], 1)
        )
        for p in (net.s_t_channel_embed, net.sp_channel_embed, net.t_channel_embed, net.st_channel_embed):
            p.normal_(0, 0.02)
    return net.eval()
