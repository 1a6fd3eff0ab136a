"""The embedding service: Presto embeddings of a scene (or a stack of dates) on a grid, tiled, batched, cached.

Tiles of ``tile_size`` pixels are read one at a time (bounded memory), their pixels fed to the ONNX encoder in
batches; progress is reported per tile. Results are cached as files under ``home/embeddings/<model>-<version>/``,
keyed by the item ids and the grid (CRS, transform, shape, AOI), so asking again about the same area is instant
and a new model version never reuses old vectors.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.embed.card import PRESTO, presto_onnx
from geovigie.tools.embed.distributed import EmbedRun, OnnxTiles, embed_kind, embed_on_dask
from geovigie.tools.embed.inputs import available_bands, latlon_of, months_of, series
from geovigie.tools.models import ModelCard
from geovigie.tools.raster import Execution, Grid, Scene, iter_tiles, read_bands

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
DIM = 128
OTHER_MODELS: dict[str, Callable[..., EmbeddingMap]] = {}
"""Embedding models other than Presto, by card name -> their ``embed`` (Galileo nano registers itself here, from
``galileo_embed``, so that this module does not import it back)."""
BATCH = 2048
"""Pixels per ONNX call: large enough to amortise the call, small enough to keep memory at a few tens of MB."""
MIN_S2 = ("B02", "B03", "B04", "B08")


@dataclass
class EmbeddingMap:
    """Embeddings of every pixel of a grid."""

    vectors: np.ndarray
    """(H, W, 128) float32; zeros where ``valid`` is False."""
    valid: np.ndarray
    """(H, W) bool: pixels with every requested band finite."""
    grid: Grid
    card: ModelCard
    bands: list[str]
    item_ids: list[str]
    seconds: float
    cached: bool
    fallback: str | None = None
    """Why these vectors are standardised raw bands instead of model embeddings (model unavailable), else None."""
    run: EmbedRun | None = None
    """Where the vectors were computed (local, Dask, cache): tiles, workers, failures."""

    def mean_of(self, region: np.ndarray) -> np.ndarray:
        """The mean embedding of the valid pixels of a boolean region (H, W).

        Raises:
            ToolInputError: the region holds no valid pixel.
        """
        pick = region & self.valid
        if not pick.any():
            raise ToolInputError(
                "The example falls on no valid pixel of the embedded area.",
                hint="Move the example inside the scene, away from nodata or cloud-masked pixels.",
            )
        return self.vectors[pick].mean(axis=0)  # type: ignore[no-any-return]


def grid_key(grid: Grid) -> str:
    """A short hash of a grid: what the cache keys vectors by, beside items and model."""
    text = f"{grid.crs_string}|{tuple(round(v, 9) for v in grid.transform[:6])}|{grid.shape}|{grid.aoi}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_path(settings: Settings, card: ModelCard, item_ids: Sequence[str], grid: Grid) -> Path:
    """Where the embeddings of these items on this grid are cached."""
    items = "+".join(re.sub(r"[^A-Za-z0-9._-]", "_", i)[:60] for i in item_ids)
    return settings.home / "embeddings" / f"{card.name}-{card.version}" / f"{items}-{grid_key(grid)}.npz"


def _check_bands(scenes: Sequence[Scene]) -> list[str]:
    bands = available_bands(scenes[0])
    for scene in scenes[1:]:
        bands = [b for b in bands if scene.find_band(b) is not None]
    if not all(b in bands for b in MIN_S2) and not {"vv", "vh"} <= set(bands):
        raise ToolInputError(
            f"Scene {scenes[0].id} has neither the Sentinel-2 bands B02, B03, B04, B08 nor Sentinel-1 VV/VH, "
            "which the embedding model needs.",
            hint="Choose a Sentinel-2 or Sentinel-1 scene (search_imagery).",
        )
    return bands


def embed(
    scenes: Sequence[Scene],
    grid: Grid,
    settings: Settings,
    *,
    progress: Progress | None = None,
    tile_size: int = 256,
    onnx: Path | None = None,
    use_cache: bool = True,
    execution: Execution | None = None,
    model: str = PRESTO.name,
) -> EmbeddingMap:
    """Presto embeddings of every pixel of ``grid``, one time step per scene (dates in the given order).

    Args:
        scenes: One scene, or several dates of the same place (read onto the same grid).
        grid: The pixels to embed (from ``scene_grid``).
        settings: Where the weights, the ONNX cache and the embeddings cache live.
        progress: Receives (fraction done, message) after each tile.
        tile_size: Tile edge in pixels (memory bound: ~tile_size² x 17 x T floats at a time).
        onnx: An ONNX graph to use instead of the cached Presto export (tests: a random model).
        use_cache: Read and write the embeddings cache.
        execution: Where large grids run (Dask when it chooses so, see ``embed_kind``); None: in this process.
        model: ``"galileo_nano"`` for Galileo nano's embeddings instead (one vector per patch, see
            ``galileo_embed``: it tiles its own way, in this process, ignoring ``tile_size`` and ``execution``).

    Raises:
        ToolInputError: no usable bands.
        ModelUnavailableError: Presto's weights absent (or not converted and no torch).
    """
    if model != PRESTO.name:
        return OTHER_MODELS[model](scenes, grid, settings, progress=progress, onnx=onnx, use_cache=use_cache)
    bands = _check_bands(scenes)
    ids = [s.id for s in scenes]
    path = cache_path(settings, PRESTO, ids, grid)
    if use_cache and onnx is None and path.is_file():
        with np.load(path) as z:
            vectors, valid = z["vectors"].astype(np.float32), z["valid"]
        return EmbeddingMap(vectors, valid, grid, PRESTO, bands, ids, 0.0, True, run=EmbedRun("cache", 0, 0))
    encoder = OnnxTiles(str(onnx or presto_onnx(settings)), presto_tile)
    start = time.perf_counter()
    h, w = grid.shape
    if execution is not None and embed_kind(execution, h * w) == "dask":  # large grid: one Dask task per tile
        vectors, valid, run = embed_on_dask(scenes, bands, grid, encoder, execution, tile_size=tile_size, dim=DIM,
                                            progress=progress, label=PRESTO.title)  # fmt: skip
    else:
        vectors, valid, run = _embed_here(scenes, bands, grid, encoder, tile_size, progress)
    seconds = run.seconds = time.perf_counter() - start
    logger.info("embedded items=%s pixels=%d seconds=%.1f executor=%s", ids, h * w, seconds, run.kind)
    if use_cache and onnx is None and run.complete:  # a partial map is never cached
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part.npz")
        np.savez_compressed(tmp, vectors=vectors.astype(np.float16), valid=valid)
        tmp.replace(path)
    return EmbeddingMap(vectors, valid, grid, PRESTO, bands, ids, seconds, False, run=run)


def _embed_here(
    scenes: Sequence[Scene], bands: list[str], grid: Grid, encoder: OnnxTiles, tile_size: int, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray, EmbedRun]:
    """Every tile in this process, one after the other (the encoder's session uses the cores)."""
    h, w = grid.shape
    vectors = np.zeros((h, w, DIM), np.float32)
    valid = np.zeros((h, w), bool)
    tiles = list(iter_tiles(grid, tile_size=tile_size, overlap=0))
    for n, tile in enumerate(tiles):
        sub = grid.subgrid(tile.read)
        r0, c0 = int(tile.core.row_off), int(tile.core.col_off)
        rows, cols = slice(r0, r0 + sub.height), slice(c0, c0 + sub.width)  # no overlap: read == core
        vectors[rows, cols], valid[rows, cols] = encoder(scenes, bands, sub)
        if progress is not None:
            progress((n + 1) / len(tiles), f"embedding tile {n + 1}/{len(tiles)} ({PRESTO.title})")
    return vectors, valid, EmbedRun("local", 1, len(tiles))


def presto_tile(sess: Any, scenes: Sequence[Scene], bands: Sequence[str], sub: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Presto vectors (h, w, 128) float16 and validity (h, w) of one tile grid: what both paths run per tile.

    float16 is the precision the cache stores, so a cached answer equals a fresh one, and a Dask task returns
    half the bytes.
    """
    steps = [read_bands(s, bands, sub) for s in scenes]
    x, mask = series(steps)
    ok = np.all([d.valid.reshape(-1) for d in steps], axis=0)
    months, latlon = months_of(scenes, len(x)), latlon_of(sub)
    out = run_pixels(sess, x, mask, months, latlon, ok)
    return out.astype(np.float16).reshape(sub.height, sub.width, DIM), ok.reshape(sub.height, sub.width)


def run_pixels(
    sess: Any, x: np.ndarray, mask: np.ndarray, months: np.ndarray, latlon: np.ndarray, ok: np.ndarray
) -> np.ndarray:
    """(N, 128) embeddings of the pixels where ``ok`` (zeros elsewhere), :data:`BATCH` pixels per ONNX call."""
    out = np.zeros((len(x), DIM), np.float32)
    where = np.flatnonzero(ok)
    for lo in range(0, len(where), BATCH):
        pick = where[lo : lo + BATCH]
        feeds = {"x": x[pick], "mask": mask[pick], "months": months[pick], "latlon": latlon[pick]}
        out[pick] = sess.run(None, feeds)[0]
    return out
