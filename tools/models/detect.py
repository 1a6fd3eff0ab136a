"""Oriented object detection over images of any size with a YOLO-OBB card, tiled at the model's input size.

The image is cut into tiles of the network's input edge (1024 px) with an overlap on each side (the existing
:func:`geovigie.tools.raster.iter_tiles`); a box is kept by the tile whose core holds its centre, then a last
rotated NMS across tile seams removes the duplicates of objects seen by two tiles. Memory is bounded by one tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from PIL import Image

from geovigie.core.settings import Settings
from geovigie.tools.models.cards import ModelCard
from geovigie.tools.models.obb import OrientedBox, decode, letterbox, rotated_nms
from geovigie.tools.models.runtime import run_batched, session
from geovigie.tools.models.weights import resolve
from geovigie.tools.raster import Grid, iter_tiles

TILE_OVERLAP = 128
"""Pixels of context on each tile side: 32 m at 0.25 m, longer than most vehicles, tanks and small ships."""
SEAM_IOS = 0.8
"""Across tiles, a box mostly inside a better one of the same class is a duplicate (cut by a tile edge)."""


@dataclass
class OrientedDetector:
    """A YOLO-OBB model ready to run: its card, its verified ONNX file and thresholds."""

    card: ModelCard
    path: Path
    device: str = "auto"
    conf: float = 0.25
    iou: float = 0.7
    max_det: int = 3000
    overlap: int = TILE_OVERLAP
    _session: Any = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, card: ModelCard, settings: Settings) -> OrientedDetector:
        """Resolve and verify the card's ONNX file.

        Raises:
            ModelUnavailableError: weights absent.
            WeightsIntegrityError: wrong hash or size, or not a loadable graph.
        """
        return cls(card=card, path=resolve(card, settings)[0].path, device=settings.models_device)

    def _sess(self) -> Any:
        if self._session is None:
            self._session = session(self.path, self.device)  # type: ignore[arg-type]
        return self._session

    @property
    def input_size(self) -> int:
        """Square input edge of the network."""
        return self.card.input_size or 1024

    def detect(
        self,
        rgb: np.ndarray,
        *,
        classes: set[str] | None = None,
        upsample: float = 1.0,
        progress: Callable[[float, str], None] | None = None,
    ) -> list[OrientedBox]:
        """Oriented boxes in an (H, W, 3) uint8 image, in its pixel coordinates.

        Args:
            rgb: The image (any size; tiled).
            classes: Labels to keep (card class names); None keeps all.
            upsample: Resample the image by this factor first (an image coarser than the model's pixel size).
            progress: Callback (fraction, message) per tile.
        """
        if upsample != 1.0:
            h, w = rgb.shape[:2]
            target = (max(1, round(w * upsample)), max(1, round(h * upsample)))
            rgb = np.asarray(Image.fromarray(rgb).resize(target, Image.Resampling.BILINEAR))
        keep = None if classes is None else {self.card.classes.index(c) for c in classes if c in self.card.classes}
        size = self.input_size
        overlap = min(self.overlap, size // 4)
        grid = Grid(crs=None, transform=Affine.identity(), width=rgb.shape[1], height=rgb.shape[0])
        tiles = list(iter_tiles(grid, tile_size=size - 2 * overlap, overlap=overlap))
        fits = []

        def inputs() -> Any:
            for tile in tiles:
                r0, c0 = int(tile.read.row_off), int(tile.read.col_off)
                crop = np.ascontiguousarray(rgb[r0 : r0 + int(tile.read.height), c0 : c0 + int(tile.read.width)])
                tensor, fit = letterbox(crop, size)
                fits.append(fit)
                yield (tensor,)

        def tick(done: int) -> None:
            if progress is not None:
                progress(done / len(tiles), f"{self.card.name} tile {done}/{len(tiles)}")

        found: list[OrientedBox] = []
        for k, out in enumerate(run_batched(self._sess(), inputs(), progress=tick)):
            tile = tiles[k]
            boxes = rotated_nms(decode(out, fits[k], names=self.card.classes, conf=self.conf, keep_classes=keep),
                                iou=self.iou, max_det=self.max_det)  # fmt: skip
            found.extend(_in_core(boxes, tile.read.col_off, tile.read.row_off, tile.core))
        merged = rotated_nms(found, iou=self.iou, ios=SEAM_IOS) if len(tiles) > 1 else found
        return [b.moved(0.0, 0.0, 1.0 / upsample) for b in merged] if upsample != 1.0 else merged


def _in_core(boxes: list[OrientedBox], col_off: float, row_off: float, core: Any) -> list[OrientedBox]:
    c0, r0 = float(core.col_off), float(core.row_off)
    c1, r1 = c0 + float(core.width), r0 + float(core.height)
    moved = (b.moved(float(col_off), float(row_off)) for b in boxes)
    return [b for b in moved if c0 <= b.cx < c1 and r0 <= b.cy < r1]
