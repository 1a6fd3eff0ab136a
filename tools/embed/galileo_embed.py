"""Galileo nano embeddings of a grid: the space-time cube of a tile, per-patch vectors given to their pixels.

Galileo sees a square of ``side`` pixels at once (all its dates and band groups are tokens of one sequence), so
the grid is cut into square tiles whose token count stays near :data:`MAX_TOKENS` (attention memory grows with
its square): 64 px at patch 4 with one date, 28 px with five. Edge tiles are padded, and the padding is masked.
Each patch's 128-d vector (mean over dates and channel groups) is given to every pixel of the patch, so the
:class:`EmbeddingMap` has the usual (H, W, 128) shape; its effective resolution is the patch (40 m at patch 4).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from geovigie.core.settings import Settings
from geovigie.tools.embed.distributed import EmbedRun
from geovigie.tools.embed.galileo_card import GALILEO, GALILEO_BANDS, GROUPS, PATCH, galileo_normalisation, galileo_onnx
from geovigie.tools.embed.inputs import _as_db, _as_dn, months_of
from geovigie.tools.embed.service import DIM, OTHER_MODELS, EmbeddingMap, Progress, _check_bands, cache_path
from geovigie.tools.models import session
from geovigie.tools.raster import Grid, Scene, iter_tiles, read_bands

logger = logging.getLogger(__name__)

MAX_TOKENS = 1792
"""Tokens per tile (7 groups x dates x patches): ~100 MB of attention scores per block, seconds per tile."""
GROUP_CHANNELS = ((0, 1), (2, 3, 4), (5, 6, 7), (8,), (9,), (10, 11), (12,))
"""Channels of each space-time group, in Galileo's group order (S1, RGB, red edge, NIR 10 m, NIR 20 m, SWIR,
NDVI)."""
RED, NIR, NDVI = 4, 8, 12
FILL = np.array([0.5] * 12 + [0.3], np.float32)
"""Value of a pixel with no data (the normalised training mean): its token is masked when most of the patch is."""


def tile_side(patch: int, steps: int) -> int:
    """Edge in pixels of a square tile of about :data:`MAX_TOKENS` tokens for this patch size and date count."""
    return patch * max(1, int(math.sqrt(MAX_TOKENS / (GROUPS * steps))))


def cube(
    steps: Sequence[Mapping[str, np.ndarray]], shift: np.ndarray, div: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised inputs (H, W, T, 13) and group presence (H, W, T, 7) of a tile's dates.

    Each step maps band names (:data:`GALILEO_BANDS`) to (H, W) arrays (S2 as DN or reflectance, S1 in dB or
    linear power). A group is present at a pixel when all its bands are there and finite.
    """
    h, w = next(iter(steps[0].values())).shape
    x = np.empty((h, w, len(steps), len(GALILEO_BANDS) + 1), np.float32)
    present = np.zeros((h, w, len(steps), GROUPS), bool)
    raw = np.full((h, w, len(GALILEO_BANDS)), np.nan, np.float32)
    for t, bands in enumerate(steps):
        raw[:] = np.nan
        for i, name in enumerate(GALILEO_BANDS):
            if name in bands:
                v = np.asarray(bands[name], np.float32)
                raw[..., i] = _as_db(v) if i < 2 else _as_dn(v)
        red, nir = raw[..., RED], raw[..., NIR]
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = np.where(red + nir > 0, (nir - red) / (red + nir), np.nan)
        full = np.concatenate([raw, ndvi[..., None]], axis=-1)
        ok = np.isfinite(full)
        x[:, :, t] = np.where(ok, (np.nan_to_num(full) - shift) / div, FILL)
        for g, idx in enumerate(GROUP_CHANNELS):
            present[:, :, t, g] = ok[..., list(idx)].all(axis=-1)
    return x, present


def token_missing(present: np.ndarray, patch: int, real: np.ndarray | None = None) -> np.ndarray:
    """(h, w, T, 7) float 1 where fewer than half of a patch's real pixels have the group, from (H, W, T, 7).

    ``real`` (H, W) marks the pixels inside the grid (False on a tile's padding; default all): a patch cut by
    the grid's edge is embedded from its pixels inside, a patch wholly outside is masked.
    """
    h, w, t, g = present.shape
    inside = np.ones((h, w), bool) if real is None else real
    count = present.reshape(h // patch, patch, w // patch, patch, t, g).sum(axis=(1, 3))
    cells = inside.reshape(h // patch, patch, w // patch, patch).sum(axis=(1, 3))[:, :, None, None]
    return ((cells == 0) | (count < 0.5 * cells)).astype(np.float32)


def _pad(a: np.ndarray, side: int, value: float | bool | None) -> np.ndarray:
    extra = ((0, side - a.shape[0]), (0, side - a.shape[1])) + ((0, 0),) * (a.ndim - 2)
    if value is None:
        return np.pad(a, extra, mode="edge")
    return np.pad(a, extra, mode="constant", constant_values=value)


def run_tile(
    sess: object, x: np.ndarray, present: np.ndarray, months: np.ndarray, patch: int, side: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel vectors (H, W, 128) and 'has an embedding' (H, W) of one tile of at most ``side`` pixels."""
    h, w = x.shape[:2]
    missing = token_missing(_pad(present, side, False), patch, _pad(np.ones((h, w), bool), side, False))
    feeds = {"x": _pad(x, side, None)[None], "missing": missing[None], "months": months[None].astype(np.int64)}
    out = sess.run(None, feeds)[0][0]  # type: ignore[attr-defined]
    seen = (missing < 0.5).any(axis=(2, 3))
    pixels = np.repeat(np.repeat(out, patch, axis=0), patch, axis=1)[:h, :w]
    has = np.repeat(np.repeat(seen, patch, axis=0), patch, axis=1)[:h, :w]
    return pixels, has


def embed_arrays(
    sess: object,
    steps: Sequence[Mapping[str, np.ndarray]],
    months: Sequence[int],
    norm: tuple[np.ndarray, np.ndarray],
    patch: int = PATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectors (H, W, 128) and 'has an embedding' (H, W) of in-memory (H, W) bands per date, tiled as a grid is."""
    h, w = next(iter(steps[0].values())).shape
    side = tile_side(patch, len(steps))
    vectors, has = np.zeros((h, w, DIM), np.float32), np.zeros((h, w), bool)
    month_arr = np.asarray(months, np.int64)
    for r in range(0, h, side):
        for c in range(0, w, side):
            tile = [{b: v[r : r + side, c : c + side] for b, v in step.items()} for step in steps]
            x, present = cube(tile, *norm)
            out, seen = run_tile(sess, x, present, month_arr, patch, side)
            vectors[r : r + side, c : c + side], has[r : r + side, c : c + side] = out, seen
    return vectors, has


def embed_galileo(
    scenes: Sequence[Scene],
    grid: Grid,
    settings: Settings,
    *,
    progress: Progress | None = None,
    patch: int = PATCH,
    onnx: Path | None = None,
    norm: tuple[np.ndarray, np.ndarray] | None = None,
    use_cache: bool = True,
) -> EmbeddingMap:
    """Galileo nano embeddings of every pixel of ``grid`` (one vector per patch), one date per scene.

    Args:
        scenes: One scene, or several dates of the same place (read onto the same grid; at most 24).
        grid: The pixels to embed (from ``scene_grid``).
        settings: Where the weights, the ONNX cache and the embeddings cache live.
        progress: Receives (fraction done, message) after each tile.
        patch: Patch edge in pixels (1-8): the map's effective resolution.
        onnx: An ONNX graph to use instead of the cached export (tests: random weights).
        norm: (shift, div) to use instead of ``normalization.json`` (tests without the model files).
        use_cache: Read and write the embeddings cache.

    Raises:
        ToolInputError: no usable bands.
        ModelUnavailableError: Galileo's files absent (or not converted and no torch).
    """
    bands = _check_bands(scenes)
    ids = [s.id for s in scenes]
    key = ids if patch == PATCH else [*ids, f"patch{patch}"]
    path = cache_path(settings, GALILEO, key, grid)
    cacheable = use_cache and onnx is None and norm is None
    if cacheable and path.is_file():
        with np.load(path) as z:
            vectors, valid = z["vectors"].astype(np.float32), z["valid"]
        return EmbeddingMap(vectors, valid, grid, GALILEO, bands, ids, 0.0, True, run=EmbedRun("cache", 0, 0))
    shift, div = norm or galileo_normalisation(settings)
    sess = session(onnx or galileo_onnx(settings, patch), "cpu")
    months = months_of(scenes, 1)[0]
    side = tile_side(patch, len(scenes))
    start = time.perf_counter()
    h, w = grid.shape
    vectors = np.zeros((h, w, DIM), np.float32)
    valid = np.zeros((h, w), bool)
    tiles = list(iter_tiles(grid, tile_size=side, overlap=0))
    for n, tile in enumerate(tiles):
        sub = grid.subgrid(tile.read)
        steps = [read_bands(s, bands, sub) for s in scenes]
        x, present = cube([{b: d.band(b) for b in d.band_names} for d in steps], shift, div)
        out, has = run_tile(sess, x, present, months, patch, side)
        ok = np.all([d.valid for d in steps], axis=0) & has
        r0, c0 = int(tile.core.row_off), int(tile.core.col_off)
        rows, cols = slice(r0, r0 + sub.height), slice(c0, c0 + sub.width)  # no overlap: read == core
        # float16 precision, as the cache stores it: a cached answer equals a fresh one.
        vectors[rows, cols] = np.where(ok[..., None], out, 0.0).astype(np.float16).astype(np.float32)
        valid[rows, cols] = ok
        if progress is not None:
            progress((n + 1) / len(tiles), f"embedding tile {n + 1}/{len(tiles)} ({GALILEO.title})")
    seconds = time.perf_counter() - start
    logger.info("embedded model=galileo_nano items=%s pixels=%d seconds=%.1f", ids, h * w, seconds)
    if cacheable:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part.npz")
        np.savez_compressed(tmp, vectors=vectors.astype(np.float16), valid=valid)
        tmp.replace(path)
    run = EmbedRun("local", 1, len(tiles), seconds=seconds)
    return EmbeddingMap(vectors, valid, grid, GALILEO, bands, ids, seconds, False, run=run)


OTHER_MODELS[GALILEO.name] = embed_galileo
