"""Pure rendering for people and VLMs: robust stretch, true/false colour, mask overlays, boxes.

Legends are never drawn into pictures (a strip under an image would misplace it on the map): they travel
with the artifact (``ArtifactRef.legend``) and the map draws them as a control.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from geovigie.tools.raster.read import RasterData
from geovigie.tools.raster.scene import Scene

TRUE_COLOUR = ("red", "green", "blue")
FALSE_COLOUR = ("nir", "red", "green")


def display_bands(scene: Scene) -> tuple[tuple[str, ...], str]:
    """Bands to show and a label: true colour when possible, else colour-infrared, else grey."""
    if scene.has_bands(*TRUE_COLOUR):
        return TRUE_COLOUR, "true colour (R,G,B)"
    if scene.has_bands(*FALSE_COLOUR):
        return FALSE_COLOUR, "false colour (NIR,R,G) — no blue band"
    first = scene.bands()[0]
    name = first.common_name or first.name
    return (name, name, name), f"greyscale ({name})"


def stretch(data: np.ndarray, *, low: float = 2.0, high: float = 98.0) -> np.ndarray:
    """Percentile stretch of (bands, H, W) floats to uint8 (H, W, bands); NaN becomes 0.

    A shared stretch across bands keeps colours balanced when the bands are comparable (RGB); a per-band
    stretch is used only when one band's range is far from the others (mixed sensors).
    """
    finite = np.isfinite(data)
    out = np.zeros(data.shape[1:] + (data.shape[0],), dtype=np.uint8)
    if not finite.any():
        return out
    for i in range(data.shape[0]):
        band = data[i]
        ok = finite[i]
        if not ok.any():
            continue
        sample = band[ok]
        if sample.size > 1_000_000:
            sample = sample[:: sample.size // 1_000_000 + 1]
        lo, hi = np.percentile(sample, [low, high])
        if hi <= lo:
            hi = lo + 1e-6
        # NaN (no data, outside the AOI) would warn when cast: they are 0 in the picture anyway.
        scaled = np.nan_to_num(np.clip((band - lo) / (hi - lo), 0, 1), nan=0.0)
        out[..., i] = np.where(ok, (scaled * 255).astype(np.uint8), 0)
    return out


def to_rgb(raster: RasterData) -> np.ndarray:
    """(H, W, 3) uint8 image of a raster read with :func:`display_bands` (or any 1-3 bands)."""
    data = raster.data
    if data.shape[0] == 1:
        data = np.repeat(data, 3, axis=0)
    return stretch(data[:3])


def overlay_mask(rgb: np.ndarray, mask: np.ndarray, *, colour: tuple[int, int, int], alpha: float = 0.5) -> np.ndarray:
    """Blend a boolean mask onto an RGB image."""
    out = rgb.astype(np.float32).copy()
    col = np.array(colour, dtype=np.float32)
    out[mask] = out[mask] * (1 - alpha) + col * alpha
    return out.astype(np.uint8)


def draw_boxes(
    rgb: np.ndarray,
    boxes: Sequence[tuple[float, float, float, float]],
    *,
    colour: tuple[int, int, int] = (255, 214, 0),
    width: int = 2,
) -> np.ndarray:
    """Draw pixel boxes (xmin, ymin, xmax, ymax) on an RGB image."""
    img = Image.fromarray(rgb)
    draw = ImageDraw.Draw(img)
    for xmin, ymin, xmax, ymax in boxes:
        draw.rectangle([xmin, ymin, xmax, ymax], outline=colour, width=width)
    return np.asarray(img)


def side_by_side(left: np.ndarray, right: np.ndarray, *, gap: int = 6) -> np.ndarray:
    """Two images next to each other (before | after)."""
    h = max(left.shape[0], right.shape[0])
    canvas = np.full((h, left.shape[1] + gap + right.shape[1], 3), 255, dtype=np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left[..., :3]
    canvas[: right.shape[0], left.shape[1] + gap :] = right[..., :3]
    return canvas


def downsample_for_display(rgb: np.ndarray, *, max_side: int = 1024) -> np.ndarray:
    """Shrink an image so that its longest side is at most ``max_side`` (for PNGs and VLM inputs)."""
    side = max(rgb.shape[0], rgb.shape[1])
    if side <= max_side:
        return rgb
    factor = max_side / side
    size = (max(1, int(rgb.shape[1] * factor)), max(1, int(rgb.shape[0] * factor)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
