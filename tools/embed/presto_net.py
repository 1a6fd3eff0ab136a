"""Presto (Tseng et al. 2023, arXiv 2304.14065) in torch, written here to match the published checkpoint.

Presto embeds the time series of **one pixel**: per time step, each channel group (S1, S2 RGB, red edge, NIR,
SWIR, ERA5, NDVI) becomes a token through its own linear layer; topography (SRTM) is one token for the series.
A token's position is ``[month (32) | channel group (32) | time step (64)]`` added to it; a location token (lat/lon
on the unit sphere) is prepended; a small ViT (2 blocks, 8 heads, 128 wide) mixes them and the embedding is the
layer-normed mean of the unmasked tokens. Missing channels are masked: here by an additive attention bias and a
masked mean, which equals dropping those tokens (what upstream does by sorting and cutting them). The dynamic-world
token is always missing in our inputs, so it is left out (a masked token changes nothing).

Tensor names and shapes follow ``default_model.pt`` (loaded with ``strict=True``); the decoder is declared only so
that the checkpoint loads strictly: embeddings never use it. torch is an optional extra, imported by the caller.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

GROUPS: dict[str, tuple[int, ...]] = {
    "S1": (0, 1),
    "S2_RGB": (2, 3, 4),
    "S2_NIR_10m": (8,),
    "S2_NIR_20m": (9,),
    "S2_Red_Edge": (5, 6, 7),
    "S2_SWIR": (10, 11),
    "ERA5": (12, 13),
    "SRTM": (14, 15),
    "NDVI": (16,),
}
"""Channel groups in checkpoint order (their position is the channel-embedding index) -> input channels."""
CHANNELS = 17
WIDTH = 128
HEADS = 8
MAX_STEPS = 24
STATIC_GROUP = "SRTM"
MASKED_BIAS = -1e9
"""Attention bias of a masked key: exp underflows to exactly 0 in float32, as if the token were absent."""


class Attention(nn.Module):
    """Multi-head self-attention with an additive key bias (0 = visible, MASKED_BIAS = masked)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Attend over tokens ``x`` (B, N, C) with key bias (B, N)."""
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5 + bias[:, None, None, :]
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)  # type: ignore[no-any-return]


class Mlp(nn.Module):
    """Two linear layers with a GELU."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.fc2 = nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the MLP."""
        return self.fc2(nn.functional.gelu(self.fc1(x)))  # type: ignore[no-any-return]


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = Mlp(width, 4 * width)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Attention then MLP, each with a residual."""
        x = x + self.attn(self.norm1(x), bias)
        return x + self.mlp(self.norm2(x))  # type: ignore[no-any-return]


class Encoder(nn.Module):
    """Presto's encoder: tokens per channel group and time step, positional sums, transformer, masked mean."""

    def __init__(self, depth: int = 2) -> None:
        super().__init__()
        self.skipped: tuple[str, ...] = ()
        """Groups left out of the graph because they are always missing in its inputs (saves their compute)."""
        self.pos_embed = nn.Parameter(torch.zeros(1, MAX_STEPS, WIDTH // 2), requires_grad=False)
        self.eo_patch_embed = nn.ModuleDict({g: nn.Linear(len(idx), WIDTH) for g, idx in GROUPS.items()})
        self.dw_embed = nn.Embedding(len(GROUPS) + 1, WIDTH)
        self.latlon_embed = nn.Linear(3, WIDTH)
        self.blocks = nn.ModuleList(Block(WIDTH, HEADS) for _ in range(depth))
        self.norm = nn.LayerNorm(WIDTH)
        self.month_embed = nn.Embedding(12, WIDTH // 4)
        self.channel_embed = nn.Embedding(len(GROUPS) + 1, WIDTH // 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, months: torch.Tensor, latlon: torch.Tensor) -> torch.Tensor:
        """Embeddings (B, 128) of series.

        ``x`` (B, T, 17) normalised, ``mask`` (B, T, 17) 1 = missing, ``months`` (B, T) int64 0-11 and ``latlon``
        (B, 3) unit vectors.
        """
        b, t, _ = x.shape
        month = self.month_embed(months)
        pos = self.pos_embed[:, :t, :].expand(b, t, WIDTH // 2)
        tokens, masks = [self.latlon_embed(latlon)[:, None, :]], [torch.zeros_like(latlon[:, :1])]
        for i, (group, idx) in enumerate(GROUPS.items()):
            if group in self.skipped:
                continue
            channel = self.channel_embed.weight[i].expand(b, t, WIDTH // 4)
            token = self.eo_patch_embed[group](x[:, :, list(idx)])
            hidden = mask[:, :, list(idx)].amax(dim=-1)
            if group == STATIC_GROUP:
                # Topography does not change with time: one token, no month or time-step position.
                place = torch.cat([torch.zeros_like(month[:, :1]), channel[:, :1], torch.zeros_like(pos[:, :1])], -1)
                token, hidden = token[:, :1] + place, hidden[:, :1]
            else:
                token = token + torch.cat([month, channel, pos], dim=-1)
            tokens.append(token)
            masks.append(hidden)
        seq, hidden = torch.cat(tokens, dim=1), torch.cat(masks, dim=1)
        bias = hidden * MASKED_BIAS
        for block in self.blocks:
            seq = block(seq, bias)
        keep = (1.0 - hidden)[..., None]
        mean = (seq * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.norm(mean)  # type: ignore[no-any-return]


class Decoder(nn.Module):
    """Pre-training decoder, declared only for strict loading (its tensors are in the checkpoint)."""

    def __init__(self, depth: int = 2) -> None:
        super().__init__()
        self.mask_token = nn.Parameter(torch.zeros(WIDTH))
        self.pos_embed = nn.Parameter(torch.zeros(1, MAX_STEPS, 48), requires_grad=False)
        self.decoder_embed = nn.Linear(WIDTH, WIDTH)
        self.decoder_blocks = nn.ModuleList(Block(WIDTH, HEADS) for _ in range(depth))
        self.decoder_norm = nn.LayerNorm(WIDTH)
        self.eo_decoder_pred = nn.ModuleDict({g: nn.Linear(WIDTH, len(idx)) for g, idx in GROUPS.items()})
        self.dw_decoder_pred = nn.Linear(WIDTH, 9)
        self.channel_embeddings = nn.Embedding(len(GROUPS) + 1, WIDTH // 4)
        self.month_embed = nn.Embedding(12, 48)


class Presto(nn.Module):
    """The whole checkpoint: encoder (used) and decoder (loaded, unused)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, months: torch.Tensor, latlon: torch.Tensor) -> torch.Tensor:
        """The encoder's embeddings (see :meth:`Encoder.forward`)."""
        return self.encoder(x, mask, months, latlon)  # type: ignore[no-any-return]


def load_presto(path: str) -> Presto:
    """Build Presto and load a checkpoint with strict key and shape matching.

    Raises:
        RuntimeError: the checkpoint's tensors do not match the architecture (torch's message names them).
    """
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    net = Presto()
    net.load_state_dict(state, strict=True)
    return net.eval()


def random_presto(seed: int = 0) -> Presto:
    """A Presto with random weights (tests of export, run and tiling without the checkpoint)."""
    torch.manual_seed(seed)
    net = Presto()
    with torch.no_grad():
        net.encoder.pos_embed.normal_(0, 0.5)
    return net.eval()
