"""Pixels: scenes, windowed reads onto a grid, tiling, rendering and vectorising.

Pixels: scenes (band lookup, scale/offset, nodata), windowed reads onto a common grid, tiling with bounded
memory, rendering of quicklooks and overlays, and vectorising masks into polygons.

The lowest room of the tool layer: it may import ``geovigie.core`` and the tool framework only.
"""

from geovigie.tools.raster.cost import CostEstimate
from geovigie.tools.raster.execution import LARGE_RUNS_CONFIRMED, Execution
from geovigie.tools.raster.executor import close_dask_clients, dask_client, task_outcome
from geovigie.tools.raster.grid import Grid, Tile, iter_tiles
from geovigie.tools.raster.radiometry import decision_of
from geovigie.tools.raster.read import DatasetCache, RasterData, open_raster, read_bands, scene_grid
from geovigie.tools.raster.render import (
    display_bands,
    downsample_for_display,
    draw_boxes,
    overlay_mask,
    side_by_side,
    to_rgb,
)
from geovigie.tools.raster.runs import RunSummary, list_runs, recover_runs, request_cancel
from geovigie.tools.raster.scene import SENTINEL2_BANDS, BandRef, Scene, normalise_band_name
from geovigie.tools.raster.tiling import NODATA, TILE_WORKERS, TiledResult, ordered_map, read_classes, run_tiled, to_cog
from geovigie.tools.raster.vectorize import feature_collection, mask_to_features
from geovigie.tools.raster.vsi import apply_http_options, host_allowed, register_tokens
from geovigie.tools.raster.webmap import display_grid, hex_legend, map_picture, to_web_map

__all__ = [
    "BandRef",
    "CostEstimate",
    "DatasetCache",
    "Execution",
    "Grid",
    "LARGE_RUNS_CONFIRMED",
    "NODATA",
    "RasterData",
    "RunSummary",
    "SENTINEL2_BANDS",
    "Scene",
    "TILE_WORKERS",
    "Tile",
    "TiledResult",
    "apply_http_options",
    "decision_of",
    "close_dask_clients",
    "dask_client",
    "display_bands",
    "display_grid",
    "downsample_for_display",
    "draw_boxes",
    "feature_collection",
    "hex_legend",
    "host_allowed",
    "iter_tiles",
    "list_runs",
    "map_picture",
    "mask_to_features",
    "normalise_band_name",
    "open_raster",
    "ordered_map",
    "overlay_mask",
    "read_bands",
    "read_classes",
    "recover_runs",
    "request_cancel",
    "register_tokens",
    "run_tiled",
    "scene_grid",
    "side_by_side",
    "task_outcome",
    "to_cog",
    "to_rgb",
    "to_web_map",
]
