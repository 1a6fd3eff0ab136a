"""The embedding service: tiling does not change vectors, the cache is keyed by items, grid and model."""

import numpy as np
import pytest
from rasterio.windows import Window

from geovigie.core.errors import ToolInputError
from geovigie.tools.catalog import get_scene
from geovigie.tools.embed import embed
from geovigie.tools.embed.service import cache_path
from geovigie.tools.raster import scene_grid


def test_tiles_and_batches_give_the_same_vectors_as_one_tile(ctx, s2_scene, tiny_presto) -> None:
    item = s2_scene({"water": (slice(0, 20), slice(0, 60), (800, 700, 300, 250, 220, 200, 200, 190, 150, 100))})
    scene = get_scene(ctx.db, item)
    grid = scene_grid(scene, None)
    seen: list[float] = []
    small = embed([scene], grid, ctx.settings, tile_size=16, use_cache=False, progress=lambda f, m: seen.append(f))
    whole = embed([scene], grid, ctx.settings, tile_size=256, use_cache=False)
    assert small.vectors.shape == (60, 60, 128) and small.valid.all()
    assert np.allclose(small.vectors, whole.vectors, atol=1e-3)
    assert len(seen) == 16 and seen[-1] == 1.0 and seen == sorted(seen)
    # Water and meadow pixels get different vectors; two meadow pixels nearly the same.
    assert np.linalg.norm(small.vectors[5, 5] - small.vectors[40, 40]) > 1.0
    assert np.linalg.norm(small.vectors[40, 40] - small.vectors[50, 30]) < 0.5


def test_second_request_reads_the_cache(ctx, s2_scene, tiny_presto) -> None:
    scene = get_scene(ctx.db, s2_scene({}))
    grid = scene_grid(scene, None)
    first = embed([scene], grid, ctx.settings)
    path = cache_path(ctx.settings, first.card, [scene.id], grid)
    assert path.is_file() and not first.cached
    again = embed([scene], grid, ctx.settings)
    assert again.cached and np.array_equal(again.vectors, first.vectors)
    other = scene_grid(scene, None).subgrid(Window(0, 0, 30, 30))
    assert cache_path(ctx.settings, first.card, [scene.id], other) != path


def test_scene_without_the_needed_bands_is_refused(ctx, make_geotiff, register, tiny_presto) -> None:
    path = make_geotiff(np.full((3, 10, 10), 100, np.uint8), name="rgb.tif")
    item = register(ctx, path, item_id="rgb", bands=[("R", "red"), ("G", "green"), ("B", "blue")])
    scene = get_scene(ctx.db, item)
    with pytest.raises(ToolInputError, match="B02, B03, B04, B08"):
        embed([scene], scene_grid(scene, None), ctx.settings)
