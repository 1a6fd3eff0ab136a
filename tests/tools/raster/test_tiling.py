import numpy as np
import pytest
import rasterio

from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.read import scene_grid
from geovigie.tools.raster.tiling import NODATA, read_classes, run_tiled


def test_tiled_run_streams_classes_to_cog_and_counts(ctx, make_geotiff, register, tmp_path):
    data = np.zeros((1, 300, 410), np.uint16)
    data[0, :, :205] = 1000
    path = make_geotiff(data, name="t.tif")
    scene = get_scene(ctx.db, register(ctx, path, item_id="t", bands=[("B08", "nir")]))
    grid = scene_grid(scene, None)
    seen = []

    def classify(rasters):
        seen.append(rasters[0].data.shape)
        nir = rasters[0].band("nir")
        out = (nir > 500).astype(np.uint8)
        out[~np.isfinite(nir)] = NODATA
        return out

    res = run_tiled(
        scenes=[scene], bands=[["nir"]], grid=grid, fn=classify, tile_size=128, overlap=8, out_path=tmp_path / "c.tif"
    )
    assert res.tiles == 12 and len(seen) == 12
    assert max(s[1] for s in seen) <= 128 + 16
    assert res.histogram == {1: 300 * 205, 0: 300 * 205}
    assert res.fraction(1) == 0.5
    with rasterio.open(res.path) as src:
        assert src.driver == "GTiff" and src.shape == (300, 410)
        assert src.read(1)[:, :205].min() == 1
    assert res.path is not None
    arr, factor = read_classes(res.path, max_pixels=10_000)
    assert factor == 4 and arr.shape == (75, 102)


def _stripes_scene(ctx, make_geotiff, register):
    data = (np.arange(260 * 330, dtype=np.uint32).reshape(1, 260, 330) % 977).astype(np.uint16)
    path = make_geotiff(data, name="stripes.tif")
    return get_scene(ctx.db, register(ctx, path, item_id="stripes", bands=[("B08", "nir")]))


def _thirds(rasters):
    nir = rasters[0].band("nir")
    return (nir // 330).astype(np.uint8)


def test_threaded_rows_give_the_same_classes_and_counts(ctx, make_geotiff, register, tmp_path):
    scene = _stripes_scene(ctx, make_geotiff, register)
    grid = scene_grid(scene, None)
    runs = {}
    for workers in (1, 3):
        res = run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=_thirds, tile_size=64, overlap=6,
                        out_path=tmp_path / f"w{workers}.tif", workers=workers)  # fmt: skip
        assert res.path is not None
        with rasterio.open(res.path) as src:
            runs[workers] = (res.histogram, res.valid_pixels, res.tiles, src.read(1))
    (h1, v1, t1, a1), (h3, v3, t3, a3) = runs[1], runs[3]
    assert h1 == h3 and v1 == v3 == 260 * 330 and t1 == t3 == 5 * 6
    np.testing.assert_array_equal(a1, a3)
    assert sorted(h1) == [0, 1, 2]
    # Nothing but the two COGs is left in the folder (no scratch files).
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tif") == ["stripes.tif", "w1.tif", "w3.tif"]


def test_a_failing_tile_stops_a_threaded_run(ctx, make_geotiff, register, tmp_path):
    scene = _stripes_scene(ctx, make_geotiff, register)
    grid = scene_grid(scene, None)
    calls = []

    def fail_in_second_row(rasters):
        calls.append(1)
        if rasters[0].grid.transform.f == grid.transform.f - 64 * 10:
            raise ValueError("bad tile")
        return _thirds(rasters)

    with pytest.raises(ValueError, match="bad tile"):
        run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=fail_in_second_row, tile_size=64, overlap=0,
                  out_path=tmp_path / "out.tif", workers=2)  # fmt: skip
    # The rows after the failure are abandoned (30 tiles in all).
    assert len(calls) < 24
    assert not any(p.name.endswith(".tiles.tif") for p in tmp_path.iterdir())


def test_counts_include_classes_that_appear_in_late_tiles(ctx, make_geotiff, register):
    scene = _stripes_scene(ctx, make_geotiff, register)
    grid = scene_grid(scene, None)

    def late_class(rasters):
        out = np.zeros(rasters[0].data.shape[1:], np.uint8)
        if rasters[0].grid.transform.c > grid.transform.c + 300 * 10:  # only the last column of tiles
            out[:3, :5] = 7
            out[-1, -1] = NODATA
        return out

    res = run_tiled(scenes=[scene], bands=[["nir"]], grid=grid, fn=late_class, tile_size=64, overlap=0)
    rows = 5  # 260 px in tiles of 64
    assert res.histogram[7] == 15 * rows and res.valid_pixels == 260 * 330 - rows
    assert res.histogram[0] == 260 * 330 - rows - 15 * rows
