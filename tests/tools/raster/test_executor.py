"""The Dask executor against a real LocalCluster (2 worker processes, small tiles)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import rasterio
from distributed import Client, LocalCluster

from geovigie.core.db import TiledRun
from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.execution import Execution
from geovigie.tools.raster.read import scene_grid
from geovigie.tools.raster.runs import CANCELLED, DONE, INTERRUPTED, PARTIAL, RUNNING, recover_runs
from geovigie.tools.raster.tiling import run_tiled

# The tile functions below run in the worker processes: ship this module by value (it is not importable there).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

TILE, OVERLAP = 64, 6


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster, set_as_default=False) as c:  # as in production: the executor must use this client
        yield c
    cluster.close()


def _scene(ctx, make_geotiff, register):
    data = (np.arange(260 * 330, dtype=np.uint32).reshape(1, 260, 330) % 977).astype(np.uint16)
    path = make_geotiff(data, name="stripes.tif")
    return get_scene(ctx.db, register(ctx, path, item_id="stripes", bands=[("B08", "nir")]))


def _thirds(rasters):
    return (rasters[0].band("nir") // 330).astype(np.uint8)


def _origin(rasters) -> str:
    t = rasters[0].grid.transform
    return f"{t.c:.0f}_{t.f:.0f}"


def _run(scene, fn, tmp_path, name, execution=None):
    grid = scene_grid(scene, None)
    res = run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=fn, tile_size=TILE, overlap=OVERLAP,
                    out_path=tmp_path / f"{name}.tif", workers=2, execution=execution)  # fmt: skip
    raster = None
    if res.path is not None:
        with rasterio.open(res.path) as src:
            raster = src.read(1)
    return res, raster


def _dask(ctx, client, **kw):
    return Execution(settings=ctx.settings, tool="test", client=client, **kw)


def test_dask_path_gives_the_same_figures_and_raster_as_in_process(ctx, make_geotiff, register, tmp_path, client):
    scene = _scene(ctx, make_geotiff, register)
    ref, ref_raster = _run(scene, _thirds, tmp_path, "threads")
    res, raster = _run(scene, _thirds, tmp_path, "dask", _dask(ctx, client))
    assert res.executor == "dask" and ref.executor == "threads"
    assert res.histogram == ref.histogram and res.valid_pixels == ref.valid_pixels == 260 * 330
    assert res.tiles == ref.tiles == res.total_tiles == 30 and res.coverage == 1.0
    np.testing.assert_array_equal(raster, ref_raster)


def test_a_worker_killed_mid_run_has_its_tile_rerun(ctx, make_geotiff, register, tmp_path, client):
    scene = _scene(ctx, make_geotiff, register)
    ref, ref_raster = _run(scene, _thirds, tmp_path, "threads")
    marker = str(tmp_path / "killed-once")

    def killer(rasters):
        if _origin(rasters) == "500580_4799420" and not os.path.exists(marker):  # one inner tile, first time only
            Path(marker).touch()
            os._exit(1)  # the worker process dies mid-task
        return _thirds(rasters)

    res, raster = _run(scene, killer, tmp_path, "killed", _dask(ctx, client))
    assert Path(marker).exists()
    assert res.failed == {} and res.coverage == 1.0 and res.histogram == ref.histogram
    np.testing.assert_array_equal(raster, ref_raster)
    with contextlib.suppress(TimeoutError):  # the nanny restarts the worker; later tests also run on one
        client.wait_for_workers(2, timeout=60)


def test_a_tile_that_keeps_failing_is_reported_and_the_others_are_kept(ctx, make_geotiff, register, tmp_path, client):
    scene = _scene(ctx, make_geotiff, register)
    ref, ref_raster = _run(scene, _thirds, tmp_path, "threads")
    attempts = tmp_path / "attempts"
    attempts.mkdir()

    def broken(rasters):
        if _origin(rasters) == "500000_4800000":  # the first tile (no overlap on its top-left)
            (attempts / f"{time.monotonic_ns()}").touch()
            raise ValueError("corrupt block")
        return _thirds(rasters)

    res, raster = _run(scene, broken, tmp_path, "partial", _dask(ctx, client, db=ctx.db))
    assert list(res.failed) == [0] and "corrupt block" in res.failed[0]
    assert len(list(attempts.iterdir())) == 1 + ctx.settings.tile_retries  # retried, then reported
    assert res.tiles == 29 and res.coverage == pytest.approx(29 / 30)
    assert res.valid_pixels == 260 * 330 - TILE * TILE
    assert (raster[:TILE, :TILE] == 255).all()  # the failed tile is NODATA, the others are intact
    np.testing.assert_array_equal(raster[TILE:], ref_raster[TILE:])
    with ctx.db.session() as s:
        assert s.get(TiledRun, res.run_id).state == PARTIAL


def _slow(marks: str):
    def fn(rasters):
        Path(marks, _origin(rasters)).touch()
        time.sleep(0.25)
        return _thirds(rasters)

    return fn


def test_a_cancelled_run_stops_its_tasks(ctx, make_geotiff, register, tmp_path, client):
    scene = _scene(ctx, make_geotiff, register)
    marks = tmp_path / "marks"
    marks.mkdir()
    cancel = threading.Event()
    execution = _dask(ctx, client, db=ctx.db, cancel=cancel)
    grid = scene_grid(scene, None)

    def progress(fraction, _message):
        if fraction >= 3 / 30:
            cancel.set()

    res = run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=_slow(str(marks)), tile_size=TILE,
                    overlap=OVERLAP, out_path=tmp_path / "c.tif", progress=progress, execution=execution)  # fmt: skip
    assert res.cancelled and 3 <= res.tiles < 30 and res.coverage < 0.5
    time.sleep(1.5)  # tasks still queued would have run by now
    assert len(list(marks.iterdir())) < 15
    with ctx.db.session() as s:
        assert s.get(TiledRun, res.run_id).state == CANCELLED


def test_an_interrupted_run_is_reported_then_resumed(ctx, make_geotiff, register, tmp_path, client):
    scene = _scene(ctx, make_geotiff, register)
    ref, ref_raster = _run(scene, _thirds, tmp_path, "threads")
    marks = tmp_path / "marks"
    marks.mkdir()
    cancel = threading.Event()
    grid = scene_grid(scene, None)

    def stop_early(fraction, _message):
        if fraction >= 5 / 30:
            cancel.set()

    first = run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=_slow(str(marks)), tile_size=TILE,
                      overlap=OVERLAP, out_path=tmp_path / "first.tif", progress=stop_early,
                      execution=_dask(ctx, client, db=ctx.db, cancel=cancel))  # fmt: skip
    # As if the API process had died mid-run: the run is left 'running', owned by a process that is gone.
    with ctx.db.session() as s:
        row = s.get(TiledRun, first.run_id)
        row.state, row.owner = RUNNING, f"{socket.gethostname()}:{2**22 + 12345}"
    reported = recover_runs(ctx.db)
    assert [(r.id, r.state, r.done_tiles) for r in reported] == [(first.run_id, INTERRUPTED, first.tiles)]
    time.sleep(1.0)  # let the first run's last tasks end before counting afresh
    for f in marks.iterdir():
        f.unlink()
    again, raster = _run(scene, _slow(str(marks)), tmp_path, "again", _dask(ctx, client, db=ctx.db))
    assert again.run_id == first.run_id and again.resumed_tiles == first.tiles
    assert len(list(marks.iterdir())) == 30 - first.tiles  # only the missing tiles were computed
    assert again.histogram == ref.histogram and again.coverage == 1.0
    np.testing.assert_array_equal(raster, ref_raster)
    with ctx.db.session() as s:
        assert s.get(TiledRun, first.run_id).state == DONE


class _Settling:
    """A future as ``as_completed`` can hand it over: its status says one thing, its result another."""

    def __init__(self, status: str, outcome: object) -> None:
        self.status, self._outcome = status, outcome

    def result(self) -> object:
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


def test_a_result_lost_with_its_worker_is_waited_for_not_reported_as_failed():
    from concurrent.futures import CancelledError

    from geovigie.tools.raster import task_outcome

    # The worker holding a finished tile died: the scheduler recomputes it and the status reads "lost".
    assert task_outcome(_Settling("lost", {1: 5})) == ({1: 5}, "")
    assert task_outcome(_Settling("error", ValueError("corrupt block"))) == (None, "ValueError: corrupt block")
    assert task_outcome(_Settling("cancelled", {1: 5})) is None
    assert task_outcome(_Settling("pending", CancelledError())) is None
