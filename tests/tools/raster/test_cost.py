"""The cost estimate counts the tiles and pixels a run reads, and gates large runs."""

from __future__ import annotations

import numpy as np
import pytest

from geovigie.core.errors import ConfirmationRequiredError, ToolInputError
from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.execution import Execution
from geovigie.tools.raster.read import scene_grid
from geovigie.tools.raster.tiling import run_tiled


def test_cost_estimate_matches_the_tiles_read(ctx, make_geotiff, register):
    data = np.full((2, 203, 317), 700, np.uint16)
    path = make_geotiff(data, name="two.tif")
    scene = get_scene(ctx.db, register(ctx, path, item_id="two", bands=[("B04", "red"), ("B08", "nir")]))
    grid = scene_grid(scene, None)
    read: list[tuple[int, int, int]] = []

    def fn(rasters):
        read.append(rasters[0].data.shape)
        return np.zeros(rasters[0].data.shape[1:], np.uint8)

    execution = Execution(settings=ctx.settings, tool="test")
    res = run_tiled(scenes=[scene], bands=[["red", "nir"]], grid=grid, fn=fn, tile_size=50, overlap=7,
                    execution=execution)  # fmt: skip
    est = execution.estimate
    assert est is not None and est.executor == "threads" and not est.needs_confirmation
    assert est.tiles == res.tiles == len(read) == 5 * 7
    assert est.pixels == 203 * 317
    assert est.pixels_read == sum(h * w for _b, h, w in read)
    assert est.bytes_read == sum(b * h * w * 2 for b, h, w in read)  # uint16 samples
    assert est.seconds > 0 and "tiles" in est.describe()


def test_large_runs_need_confirmation_and_the_ceiling_is_hard(ctx, make_geotiff, register):
    path = make_geotiff(np.full((1, 100, 100), 5, np.uint8), name="one.tif")
    scene = get_scene(ctx.db, register(ctx, path, item_id="one", bands=[("B08", "nir")]))
    grid = scene_grid(scene, None)
    settings = ctx.settings.model_copy(update={"confirm_pixels": 5_000, "max_pixels": 50_000})
    ran = []

    def fn(rasters):
        ran.append(1)
        return np.zeros(rasters[0].data.shape[1:], np.uint8)

    def run(execution):
        return run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=fn, tile_size=64, overlap=0,
                         execution=execution)  # fmt: skip

    with pytest.raises(ConfirmationRequiredError, match="Large run: 0 Mpx in 4 tiles"):
        run(Execution(settings=settings, tool="test"))
    assert ran == []  # refused before any tile was read
    assert run(Execution(settings=settings, tool="test", confirmed=True)).tiles == 4
    hard = settings.model_copy(update={"max_pixels": 9_999})
    with pytest.raises(ToolInputError, match="hard ceiling"):
        run(Execution(settings=hard, tool="test", confirmed=True))
