"""Embeddings on a real Dask LocalCluster (2 worker processes): the same bits as in-process, retries, failures."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from distributed import Client, LocalCluster
from rasterio.windows import Window

from geovigie.core.errors import NoDataError
from geovigie.tools.catalog import get_scene
from geovigie.tools.embed import embed
from geovigie.tools.embed.distributed import EmbedRun, OnnxTiles, embed_kind, embed_on_dask
from geovigie.tools.embed.service import DIM, cache_path, presto_tile
from geovigie.tools.raster import Execution, Grid, scene_grid

# The failing encoders below run in the worker processes: ship this module by value (not importable there).
cloudpickle.register_pickle_by_value(sys.modules[__name__])
pytestmark = pytest.mark.timeout(120)  # a task that cannot run must fail the test, not hang it

TILE = 16  # a 60 x 60 scene: 16 tiles, the last row and column 12 px
WATER = (slice(0, 20), slice(0, 60), (800, 700, 300, 250, 220, 200, 200, 190, 150, 100))


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster, set_as_default=False) as c:  # not the default client, as in production
        yield c
    cluster.close()


def flaky(inner: OnnxTiles, marks: str, *, always: bool = False):
    """An encoder failing on tile 9 (rows 32-48, columns 16-32): once (marker files count), or always.

    A closure, so that Dask ships it with cloudpickle, by value (this test module is not importable on workers).
    """

    def encode(scenes, bands, grid: Grid):
        if round(grid.transform.c) == 500_000 + 10 * 16 and round(grid.transform.f) == 4_800_000 - 10 * 32:
            Path(marks, str(time.monotonic_ns())).touch()
            if always or len(list(Path(marks).iterdir())) == 1:
                raise OSError("corrupt block")
        return inner(scenes, bands, grid)

    return encode


def _scene(ctx, s2_scene):
    scene = get_scene(ctx.db, s2_scene({"water": WATER}))
    return scene, scene_grid(scene, None)


def test_dask_gives_the_same_bits_as_in_process_and_reports_its_run(ctx, s2_scene, tiny_presto, client) -> None:
    scene, grid = _scene(ctx, s2_scene)
    local = embed([scene], grid, ctx.settings, tile_size=TILE, use_cache=False)
    seen: list[tuple[float, str]] = []
    execution = Execution(settings=ctx.settings, tool="test", client=client)
    dask = embed([scene], grid, ctx.settings, tile_size=TILE, use_cache=False, execution=execution,
                 progress=lambda f, m: seen.append((f, m)))  # fmt: skip
    assert local.run is not None and local.run.kind == "local" and local.run.tiles == 16
    assert dask.run is not None and dask.run.kind == "dask" and dask.run.workers == 2 and dask.run.tiles == 16
    assert dask.run.complete and dask.valid.all() and dask.vectors.dtype == np.float32
    np.testing.assert_array_equal(dask.vectors, local.vectors)
    np.testing.assert_array_equal(dask.valid, local.valid)
    fractions = [f for f, _ in seen]
    assert len(seen) == 16 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all("dask, 2 workers" in m for _, m in seen)
    assert dask.run.as_dict()["executor"] == "dask" and "Dask (local cluster, 2 workers, 16 tiles" in dask.run.note()


def test_a_big_map_is_assembled_memory_mapped_and_leaves_no_file(ctx, s2_scene, tiny_presto, client) -> None:
    scene, grid = _scene(ctx, s2_scene)
    encoder = OnnxTiles(str(tiny_presto), presto_tile)
    local = embed([scene], grid, ctx.settings, tile_size=TILE, use_cache=False)
    execution = Execution(settings=ctx.settings, tool="test", client=client)
    vectors, valid, run = embed_on_dask([scene], local.bands, grid, encoder, execution, tile_size=TILE, dim=DIM,
                                        memmap_bytes=0)  # fmt: skip
    assert isinstance(vectors, np.memmap) and run.memory_mapped
    np.testing.assert_array_equal(vectors, local.vectors)
    assert not list((ctx.settings.home / "runs").glob("embed-*.npy"))  # unlinked once mapped


def test_a_tile_failing_once_is_retried_and_the_map_is_unchanged(ctx, s2_scene, tiny_presto, client, tmp_path) -> None:
    scene, grid = _scene(ctx, s2_scene)
    local = embed([scene], grid, ctx.settings, tile_size=TILE, use_cache=False)
    marks = tmp_path / "marks"
    marks.mkdir()
    encoder = flaky(OnnxTiles(str(tiny_presto), presto_tile), str(marks))
    execution = Execution(settings=ctx.settings, tool="test", client=client)
    vectors, valid, run = embed_on_dask([scene], local.bands, grid, encoder, execution, tile_size=TILE, dim=DIM)
    assert len(list(marks.iterdir())) == 2 and run.failed == {}  # failed, retried, succeeded
    np.testing.assert_array_equal(vectors, local.vectors)


def test_a_tile_that_keeps_failing_is_reported_left_invalid_and_not_cached(
    ctx, s2_scene, tiny_presto, client, tmp_path, monkeypatch
) -> None:
    scene, grid = _scene(ctx, s2_scene)
    local = embed([scene], grid, ctx.settings, tile_size=TILE, use_cache=False)
    marks = tmp_path / "marks"
    marks.mkdir()
    import geovigie.tools.embed.service as service

    broken = flaky(OnnxTiles(str(tiny_presto), presto_tile), str(marks), always=True)
    monkeypatch.setattr(service, "OnnxTiles", lambda onnx, fn: broken)
    monkeypatch.setattr(service, "presto_onnx", lambda settings: tiny_presto)
    execution = Execution(settings=ctx.settings, tool="test", client=client)
    out = embed([scene], grid, ctx.settings, tile_size=TILE, execution=execution)  # cache on: must not be written
    assert out.run is not None and list(out.run.failed) == [9] and "corrupt block" in out.run.failed[9]
    assert len(list(marks.iterdir())) == 1 + ctx.settings.tile_retries
    assert not out.valid[32:48, 16:32].any() and out.valid.sum() == 60 * 60 - 16 * 16
    keep = np.ones(grid.shape, bool)
    keep[32:48, 16:32] = False
    np.testing.assert_array_equal(out.vectors[keep], local.vectors[keep])
    assert "1 of 16 tiles failed after retries" in out.run.note()
    assert not cache_path(ctx.settings, out.card, [scene.id], grid).exists()


def test_every_tile_failing_is_a_typed_error(ctx, s2_scene, tiny_presto, client, tmp_path) -> None:
    scene, grid = _scene(ctx, s2_scene)
    sub = grid.subgrid(Window(16, 32, 16, 16))  # tile 9 alone
    marks = tmp_path / "marks"
    marks.mkdir()
    broken = flaky(OnnxTiles(str(tiny_presto), presto_tile), str(marks), always=True)
    execution = Execution(settings=ctx.settings, tool="test", client=client)
    with pytest.raises(NoDataError, match="Every tile of the embedding failed"):
        embed_on_dask([scene], ["B02", "B03", "B04", "B08"], sub, broken, execution, tile_size=TILE, dim=DIM)


def test_a_cancelled_run_stops_and_is_not_cached(ctx, s2_scene, tiny_presto, client) -> None:
    scene, grid = _scene(ctx, s2_scene)
    cancel = threading.Event()
    execution = Execution(settings=ctx.settings, tool="test", client=client, cancel=cancel)
    out = embed([scene], grid, ctx.settings, tile_size=8, execution=execution,
                progress=lambda f, _m: cancel.set() if f >= 2 / 64 else None)  # fmt: skip
    assert out.run is not None and out.run.cancelled and not out.run.complete
    assert 0 < out.valid.sum() < 60 * 60 and "cancelled before the end" in out.run.note()
    assert not cache_path(ctx.settings, out.card, [scene.id], grid).exists()


def test_embeddings_choose_dask_by_their_own_threshold_or_the_settings(ctx) -> None:
    auto = Execution(settings=ctx.settings.model_copy(update={"embed_dask_min_pixels": 1000}), tool="t")
    assert embed_kind(auto, 1000) == "local" and embed_kind(auto, 1001) == "dask"
    forced = Execution(settings=ctx.settings.model_copy(update={"executor": "threads"}), tool="t")
    assert embed_kind(forced, 10**9) == "local"
    assert embed_kind(Execution(settings=ctx.settings.model_copy(update={"executor": "dask"}), tool="t"), 1) == "dask"
    assert embed_kind(Execution(settings=ctx.settings, tool="t", client=object()), 1) == "dask"
    assert EmbedRun("cache", 0, 0).complete and not EmbedRun("dask", 1, 2, failed={0: "x"}).complete


def test_find_similar_on_a_configured_scheduler_runs_on_dask_and_says_so(
    ctx, s2_scene, tiny_presto, client, lonlat, tmp_path
) -> None:
    from geovigie.tools.base import ToolContext
    from geovigie.tools.embed import find_similar
    from geovigie.tools.raster import close_dask_clients

    greenhouse = (2600, 2700, 2800, 2900, 3000, 3000, 3100, 3100, 3300, 2900)
    item = s2_scene({"water": WATER, "example": (slice(8, 12), slice(8, 12), greenhouse),
                     "copy": (slice(44, 48), slice(38, 42), greenhouse)})  # fmt: skip
    args = {"item_id": item, "point": list(lonlat(9, 9)), "top_k": 3}
    ref = find_similar.run(args, ctx)
    # Another home (no cached vectors) and the test cluster's address, as an operator would configure it.
    settings = ctx.settings.model_copy(update={"home": tmp_path / "home2", "dask_scheduler": client.scheduler.address})
    dask_ctx = ToolContext(settings=settings, db=ctx.db, artifacts=ctx.artifacts)
    try:
        out = find_similar.run(args, dask_ctx)
    finally:
        close_dask_clients()
    assert ref.provenance.parameters["execution"][0]["executor"] == "local"
    runs = out.provenance.parameters["execution"]
    assert runs[0]["executor"] == "dask" and runs[0]["workers"] == 2 and runs[0]["scheduler"].startswith("tcp://")
    assert out.result.places == ref.result.places and out.result.threshold == ref.result.threshold
    assert any("Embeddings computed on Dask" in n for n in out.notes)
    assert runs[1]["executor"] == "cache"  # the search re-reads what the example's embedding just cached


def test_map_from_examples_on_dask_gives_the_same_map_and_says_so(ctx, s2_scene, tiny_presto, client, lonlat, tmp_path):
    from geovigie.tools.base import ToolContext
    from geovigie.tools.embed import map_from_examples
    from geovigie.tools.raster import close_dask_clients

    item = s2_scene({"water": WATER})
    points = {"water": [(5, 5), (15, 50)], "meadow": [(35, 40), (55, 50)]}
    args = {"item_id": item, "examples": [{"label": k, "point": list(lonlat(r, c))} for k, p in points.items()
                                          for r, c in p]}  # fmt: skip
    ref = map_from_examples.run(args, ctx)
    settings = ctx.settings.model_copy(update={"home": tmp_path / "home2", "executor": "dask",
                                               "dask_scheduler": client.scheduler.address})  # fmt: skip
    try:
        out = map_from_examples.run(args, ToolContext(settings=settings, db=ctx.db, artifacts=ctx.artifacts))
    finally:
        close_dask_clients()
    assert [r["executor"] for r in out.provenance.parameters["execution"]] == ["dask"]
    assert ref.provenance.parameters["execution"][0]["executor"] == "local"
    assert out.result.classes == ref.result.classes and out.result.mean_confidence == ref.result.mean_confidence
    assert any("Embeddings computed on Dask" in n for n in out.notes)
