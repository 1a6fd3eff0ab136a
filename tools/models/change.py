"""Building change probability with a TinyCD ONNX graph, tile by tile.

Inputs are two co-registered RGB arrays in 0–1 (ImageNet-normalised here); the output is the change probability
(H, W). The network needs sides that are multiples of 8: tiles are padded by reflection and cropped back. TinyCD
was trained on 256 px crops; instance normalisation makes its output depend on the tile's content, so callers
keep tiles near 512 px (the size SOURCES.md measured at).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.settings import Settings
from geovigie.tools.models.cards import ModelCard
from geovigie.tools.models.export import onnx_path
from geovigie.tools.models.runtime import session

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]
TILE_PX = 512
"""Model input edge used by the tools (core + overlap)."""
MULTIPLE = 8


@dataclass
class ChangeModel:
    """A TinyCD-style change network ready to run."""

    card: ModelCard
    path: Path
    device: str = "auto"
    threshold: float = 0.5
    _session: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, card: ModelCard, settings: Settings) -> ChangeModel:
        """Resolve the card's ONNX graph (converting its checkpoint once when torch is installed).

        Raises:
            ModelUnavailableError: weights absent, or not converted and torch missing.
            WeightsIntegrityError: wrong hash or size.
        """
        return cls(card=card, path=onnx_path(card, settings), device=settings.models_device)

    def probability(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Change probability (H, W) of two (3, H, W) RGB arrays in 0–1."""
        if before.shape != after.shape or before.ndim != 3 or before.shape[0] != 3:
            raise ValueError(f"expected two (3, H, W) arrays, got {before.shape} and {after.shape}")
        if self._session is None:
            self._session = session(self.path, self.device)  # type: ignore[arg-type]
        h, w = before.shape[1:]
        ph, pw = -h % MULTIPLE, -w % MULTIPLE
        feeds = {}
        for name, image in (("before", before), ("after", after)):
            x = (np.nan_to_num(image.astype(np.float32)) - IMAGENET_MEAN) / IMAGENET_STD
            if ph or pw:
                x = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
            feeds[name] = x[None]
        out = self._session.run(None, feeds)[0]
        return np.asarray(out[0, 0, :h, :w], dtype=np.float32)
