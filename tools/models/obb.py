"""Oriented boxes from a YOLOv8-OBB ONNX graph: letterboxing, decoding and rotated non-maximum suppression.

The exported graph (``yolov8n-obb.onnx``) takes ``images`` [1, 3, S, S] (RGB in 0–1, letterboxed: resized so the
longer side is S, centred on grey 114) and returns [1, 4 + C + 1, A]: per anchor the box centre, width and height in
input pixels, C class probabilities (already through a sigmoid) and the rotation angle in radians. Anchors are the
cells of the stride 8, 16 and 32 grids (21 504 at S = 1024).

Suppression uses exact polygon IoU (shapely), class by class; pairs are found with an STR tree, so a tile with
thousands of candidates is handled in milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely
from PIL import Image

LETTERBOX_GREY = 114


@dataclass(frozen=True)
class OrientedBox:
    """A rotated box in pixel coordinates (x right, y down): centre, size, angle (radians), score and class."""

    cx: float
    cy: float
    w: float
    h: float
    angle: float
    score: float
    cls: int
    label: str

    def corners(self) -> np.ndarray:
        """(4, 2) corner coordinates, in order around the box."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        u = np.array([self.w / 2 * c, self.w / 2 * s])
        v = np.array([-self.h / 2 * s, self.h / 2 * c])
        centre = np.array([self.cx, self.cy])
        return np.stack([centre + u + v, centre + u - v, centre - u - v, centre - u + v])

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned (xmin, ymin, xmax, ymax) around the corners."""
        pts = self.corners()
        return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))

    def moved(self, dx: float, dy: float, scale: float = 1.0) -> OrientedBox:
        """Scaled by ``scale`` about the origin, then shifted by (dx, dy)."""
        return replace(self, cx=self.cx * scale + dx, cy=self.cy * scale + dy, w=self.w * scale, h=self.h * scale)


@dataclass(frozen=True)
class Letterbox:
    """How a tile was fitted into the square network input."""

    scale: float
    pad_x: float
    pad_y: float


def letterbox(rgb: np.ndarray, size: int, *, upscale: bool = False) -> tuple[np.ndarray, Letterbox]:
    """Fit an (H, W, 3) uint8 image into a (3, size, size) float32 0–1 input, aspect kept, centred on grey.

    Smaller images are only padded unless ``upscale``: the model must see objects at their true pixel size.
    """
    h, w = rgb.shape[:2]
    scale = min(size / h, size / w) if upscale else min(size / h, size / w, 1.0)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    img = rgb if (nh, nw) == (h, w) else np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.full((size, size, 3), LETTERBOX_GREY, dtype=np.uint8)
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top : top + nh, left : left + nw] = img
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32) / 255.0
    return tensor, Letterbox(scale, float(left), float(top))


def decode(
    output: np.ndarray,
    fit: Letterbox,
    *,
    names: Sequence[str],
    conf: float = 0.25,
    keep_classes: set[int] | None = None,
) -> list[OrientedBox]:
    """Candidates of one image's raw output (4 + C + 1, A) above ``conf``, in the original tile's pixels."""
    n_cls = len(names)
    if output.shape[0] != 5 + n_cls:
        raise ValueError(f"expected {5 + n_cls} output channels for {n_cls} classes, got {output.shape[0]}")
    scores = output[4 : 4 + n_cls]
    cls = scores.argmax(axis=0)
    best = scores[cls, np.arange(scores.shape[1])]
    keep = best > conf
    if keep_classes is not None:
        keep &= np.isin(cls, sorted(keep_classes))
    idx = np.flatnonzero(keep)
    cx = (output[0, idx] - fit.pad_x) / fit.scale
    cy = (output[1, idx] - fit.pad_y) / fit.scale
    w, h = output[2, idx] / fit.scale, output[3, idx] / fit.scale
    angle = output[4 + n_cls, idx]
    return [
        OrientedBox(float(cx[k]), float(cy[k]), float(w[k]), float(h[k]), float(angle[k]), float(best[i]), int(cls[i]),
                    names[int(cls[i])])
        for k, i in enumerate(idx)
    ]  # fmt: skip


def polygons(boxes: Sequence[OrientedBox]) -> np.ndarray:
    """Shapely polygons of the boxes (an object array)."""
    if not boxes:
        return np.empty(0, dtype=object)
    return shapely.polygons(np.stack([b.corners() for b in boxes]))


def rotated_iou(a: OrientedBox, b: OrientedBox) -> float:
    """Exact intersection over union of two rotated boxes."""
    pa, pb = polygons([a, b])
    inter = float(shapely.area(shapely.intersection(pa, pb)))
    union = float(shapely.area(pa) + shapely.area(pb)) - inter
    return inter / union if union > 0 else 0.0


def rotated_nms(
    boxes: Sequence[OrientedBox], *, iou: float = 0.7, ios: float | None = None, max_det: int | None = None
) -> list[OrientedBox]:
    """Greedy rotated NMS per class: highest score first, neighbours of the same class over ``iou`` removed.

    ``ios`` (intersection over the smaller box) also removes a box mostly inside a better one: across tile seams an
    object cut by the tile edge gives a partial box whose IoU with the whole one can be low.
    """
    if not boxes:
        return []
    order = sorted(range(len(boxes)), key=lambda i: -boxes[i].score)
    ranked = [boxes[i] for i in order]
    polys = polygons(ranked)
    areas = shapely.area(polys)
    left, right = shapely.STRtree(polys).query(polys, predicate="intersects")
    cls = np.array([b.cls for b in ranked])
    pair = (left < right) & (cls[left] == cls[right])
    left, right = left[pair], right[pair]
    inter = shapely.area(shapely.intersection(polys[left], polys[right]))
    overlap = inter / np.maximum(areas[left] + areas[right] - inter, 1e-9) > iou
    if ios is not None:
        overlap |= inter / np.maximum(np.minimum(areas[left], areas[right]), 1e-9) > ios
    left, right = left[overlap], right[overlap]
    neighbours: dict[int, list[int]] = {}
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        neighbours.setdefault(i, []).append(j)
    suppressed = np.zeros(len(ranked), dtype=bool)
    kept: list[OrientedBox] = []
    for i in range(len(ranked)):
        if suppressed[i]:
            continue
        kept.append(ranked[i])
        if max_det is not None and len(kept) >= max_det:
            break
        for j in neighbours.get(i, ()):
            suppressed[j] = True
    return kept
