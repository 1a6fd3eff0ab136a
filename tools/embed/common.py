"""What both embedding tools share: grids within the model's domain, the model's provenance entry, colours."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from geovigie.core.domain import BBox
from geovigie.core.settings import Settings
from geovigie.tools.embed.card import PRESTO
from geovigie.tools.embed.galileo_card import GALILEO
from geovigie.tools.embed.inputs import available_bands, series
from geovigie.tools.embed.service import EmbeddingMap, Progress, embed
from geovigie.tools.models import ModelCard, ModelUnavailableError
from geovigie.tools.raster import Execution, Grid, Scene, read_bands, scene_grid

MAX_EMBED_PIXELS = 1024 * 1024
"""Largest grid embedded in one request (~1 km² = 10 000 px takes seconds; 1024² minutes on 2 cores)."""
EMBED_BANDS = ("B02", "B03", "B04", "B08")
EMBED_TILE = 256
"""Largest embedding tile: a 1024² grid is 16 Dask tasks, and both paths tile alike, so they give the same bits."""
ModelName = Literal["presto", "galileo_nano"]
"""The embedding models a tool can choose (Presto per pixel, Galileo nano per 4 x 4 px patch)."""
MODELS: dict[str, ModelCard] = {PRESTO.name: PRESTO, GALILEO.name: GALILEO}
SHORT_NAMES = {PRESTO.name: "Presto", GALILEO.name: "Galileo nano"}
"""How answers name the models in a sentence."""


def embedded(
    scene: Scene,
    bbox: BBox | None,
    settings: Settings,
    progress: Progress | None,
    *,
    tile_size: int,
    model: ModelName = "presto",
    execution: Execution | None = None,
) -> EmbeddingMap:
    """Embeddings (Presto, or ``model``'s) of a scene over a box (whole scene when None), at its 10 m grid.

    When the model cannot run (weights absent, not converted and no torch), the vectors are the standardised raw
    bands (+ NDVI) instead and ``fallback`` says why: the tools still answer, with the classical features.

    ``execution`` (the tool's, from its context) sends large grids to Dask, one task per tile of at most
    :data:`EMBED_TILE` px (``embed_kind``).

    Raises:
        ToolInputError: AOI too large or bands missing.
        ModelDomainError: pixels outside Presto's 5-40 m.
    """
    bands = EMBED_BANDS if scene.has_bands(*EMBED_BANDS) else ("vv",)
    grid = scene_grid(scene, bbox, bands=bands, max_pixels=MAX_EMBED_PIXELS)
    card = MODELS[model]
    card.check_domain(pixel_size_m=grid.pixel_size_m)
    try:
        return embed([scene], grid, settings, progress=progress, tile_size=min(tile_size, EMBED_TILE), model=model,
                     execution=execution)  # fmt: skip
    except ModelUnavailableError as exc:
        return raw_map(scene, grid, reason=exc.message, card=card)


def raw_map(scene: Scene, grid: Grid, *, reason: str, card: ModelCard = PRESTO) -> EmbeddingMap:
    """Standardised raw bands (+ NDVI) of every pixel, in the shape of an embedding map (the classical features)."""
    names = available_bands(scene)
    data = read_bands(scene, names, grid)
    x, mask = series([data])
    keep = [i for i in range(x.shape[2]) if not mask[:, 0, i].all()]
    feats = x[:, 0, keep]
    valid = data.valid.reshape(-1)
    mean, std = feats[valid].mean(axis=0), feats[valid].std(axis=0) + 1e-6
    vectors = np.where(valid[:, None], (feats - mean) / std, 0.0).astype(np.float32)
    h, w = grid.shape
    return EmbeddingMap(vectors.reshape(h, w, -1), valid.reshape(h, w), grid, card, names, [scene.id], 0.0, False,
                        fallback=reason)  # fmt: skip


def executions(*maps: EmbeddingMap) -> tuple[list[dict[str, Any]], list[str]]:
    """Where each map's vectors were computed (local, Dask, cache) for provenance, and the notes that say so."""
    runs = [m.run for m in maps if m.run is not None]
    return [r.as_dict() for r in runs], list(dict.fromkeys(r.note() for r in runs))


def method_name(emb: EmbeddingMap) -> str:
    """What the vectors are, for summaries and provenance."""
    if emb.fallback:
        return f"standardised raw bands + NDVI ({SHORT_NAMES[emb.card.name]} unavailable)"
    return emb.card.citation()


def model_info(card: ModelCard = PRESTO) -> dict[str, Any]:
    """The model card as provenance carries it (name, version, licence, source, weights sha256)."""
    return {
        "name": card.name,
        "title": card.title,
        "version": card.version,
        "licence": card.licence,
        "source": card.source,
        "sha256": card.files[0].sha256,
        "accuracy": [a.model_dump() for a in card.accuracy],
    }


def ramp(values: np.ndarray, valid: np.ndarray, *, low: float, high: float) -> np.ndarray:
    """(H, W, 3) uint8 dark-blue -> yellow colour ramp of values in [low, high]; grey where invalid."""
    t = np.clip((values - low) / max(high - low, 1e-6), 0, 1)
    t = np.where(np.isfinite(t), t, 0.0)
    dark, bright = np.array([20, 30, 90], np.float32), np.array([255, 230, 40], np.float32)
    rgb = (dark + t[..., None] * (bright - dark)).astype(np.uint8)
    rgb[~valid] = (128, 128, 128)
    return rgb


def grid_lonlat(grid: Grid, row: float, col: float) -> tuple[float, float]:
    """Lon/lat of a pixel position (row, col) of a georeferenced grid."""
    from pyproj import Transformer

    x, y = grid.transform * (col, row)
    if grid.crs is None:
        return (float(x), float(y))
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(x, y)
    return (float(lon), float(lat))
