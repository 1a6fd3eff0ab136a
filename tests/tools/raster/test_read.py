from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from affine import Affine

from geovigie.core.errors import NoDataError, ToolInputError
from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.grid import Grid, iter_tiles
from geovigie.tools.raster.read import DatasetCache, read_aoi, read_bands, scene_grid

BANDS = [("B04", "red"), ("B03", "green"), ("B02", "blue")]


def _scene(ctx, make_geotiff, register, *, name, data, transform=None, crs="EPSG:32631", item_id=None):
    path = make_geotiff(data, name=name, transform=transform, crs=crs)
    return get_scene(ctx.db, register(ctx, path, item_id=item_id or name, bands=BANDS, georeferenced=crs is not None))


def test_windowed_read_of_aoi_returns_only_the_window(ctx, make_geotiff, register):
    data = np.arange(3 * 100 * 120, dtype=np.uint16).reshape(3, 100, 120)
    scene = _scene(ctx, make_geotiff, register, name="a.tif", data=data)
    full = scene_grid(scene, None)
    assert full.shape == (100, 120) and full.pixel_size_m == pytest.approx(10.0)
    assert full.bbox_wgs84 is not None
    w, s, e, n = full.bbox_wgs84
    aoi = (w + (e - w) * 0.25, s + (n - s) * 0.25, w + (e - w) * 0.5, s + (n - s) * 0.5)
    raster = read_aoi(scene, ["red", "blue"], aoi)
    assert 20 <= raster.grid.height <= 30 and 25 <= raster.grid.width <= 35
    r0 = round((full.transform.f - raster.grid.transform.f) / 10)
    c0 = round((raster.grid.transform.c - full.transform.c) / 10)
    np.testing.assert_array_equal(
        raster.band("red"), data[0, r0 : r0 + raster.grid.height, c0 : c0 + raster.grid.width]
    )


def test_coregistration_reads_smaller_second_date_onto_first_grid(ctx, make_geotiff, register):
    before = _scene(ctx, make_geotiff, register, name="d1.tif", data=np.full((3, 50, 50), 100, np.uint16))
    # Date 2 is 3 pixels smaller and shifted by half a pixel: read onto date 1's grid with NaN borders.
    t2 = Affine(10, 0, 500_005, 0, -10, 4_799_995)
    after = _scene(ctx, make_geotiff, register, name="d2.tif", data=np.full((3, 47, 47), 200, np.uint16), transform=t2)
    grid = scene_grid(before, None)
    raster = read_bands(after, ["red"], grid)
    assert raster.data.shape == (1, 50, 50)
    valid = np.isfinite(raster.data[0])
    assert 0.8 < valid.mean() < 1.0
    assert np.allclose(raster.data[0][valid], 200)


def test_aoi_outside_the_scene_is_a_no_data_error(ctx, make_geotiff, register):
    scene = _scene(ctx, make_geotiff, register, name="a.tif", data=np.ones((3, 20, 20), np.uint16))
    with pytest.raises(NoDataError, match="outside"):
        read_aoi(scene, ["red"], (100.0, 10.0, 100.1, 10.1))


def test_all_nodata_window_and_unknown_band(ctx, make_geotiff, register):
    path = make_geotiff(np.zeros((3, 20, 20), np.uint16), name="z.tif", nodata=0)
    scene = get_scene(ctx.db, register(ctx, path, item_id="z", bands=BANDS))
    with pytest.raises(NoDataError, match="no valid pixels"):
        read_aoi(scene, ["red"], None)
    with pytest.raises(ToolInputError, match="no 'swir16' band"):
        read_aoi(scene, ["swir16"], None)


def test_max_pixels_limit(ctx, make_geotiff, register):
    scene = _scene(ctx, make_geotiff, register, name="a.tif", data=np.ones((3, 40, 40), np.uint16))
    with pytest.raises(ToolInputError, match="over the limit"):
        scene_grid(scene, None, max_pixels=100)


def test_plain_images_of_different_size_cannot_be_compared(ctx, make_geotiff, register):
    a = _scene(ctx, make_geotiff, register, name="a.tif", data=np.ones((3, 30, 30), np.uint8), crs=None)
    b = _scene(ctx, make_geotiff, register, name="b.tif", data=np.ones((3, 20, 20), np.uint8), crs=None)
    grid = scene_grid(a, None)
    assert grid.crs is None and grid.pixel_size_m is None
    with pytest.raises(ToolInputError, match="no georeferencing"):
        read_bands(b, ["red"], grid)


def test_tiles_partition_the_grid():
    grid = Grid(crs=None, transform=Affine.identity(), width=250, height=130)
    covered = np.zeros((130, 250), int)
    for tile in iter_tiles(grid, tile_size=100, overlap=8):
        rs, cs = tile.core_slices()
        block = np.zeros((int(tile.read.height), int(tile.read.width)), int)
        block[rs, cs] = 1
        r0, c0 = int(tile.read.row_off), int(tile.read.col_off)
        covered[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] += block
    assert (covered == 1).all()


def test_scaled_reads_with_nodata_and_the_cached_valid_mask(ctx, make_geotiff, register):
    data = np.arange(3 * 40 * 50, dtype=np.uint16).reshape(3, 40, 50) % 5000
    data[1, 5:9, 7:12] = 0
    path = make_geotiff(data, name="s.tif", nodata=0)
    scene = get_scene(ctx.db, register(ctx, path, item_id="s", bands=BANDS, scale=1e-4))
    raster = read_aoi(scene, ["red", "green", "blue"], None)
    # Same float32 values as converting first and scaling after; nodata becomes NaN.
    expected = data.astype(np.float32) * np.float32(1e-4)
    expected[data == 0] = np.nan
    np.testing.assert_array_equal(raster.data, expected)
    valid = raster.valid
    assert valid is raster.valid and not valid.flags.writeable
    assert (~valid).sum() == int((data == 0).any(axis=0).sum())
    # A new data array gets a new mask, not the stale one.
    raster.data = np.ones_like(raster.data)
    assert raster.valid.all()


def test_dataset_cache_reuses_handles_per_thread_and_reads_the_same(ctx, make_geotiff, register):
    data = np.random.default_rng(1).integers(1, 3000, (3, 90, 70)).astype(np.uint16)
    scene = _scene(ctx, make_geotiff, register, name="c.tif", data=data)
    grid = scene_grid(scene, None)
    tiles = list(iter_tiles(grid, tile_size=32, overlap=4))
    fresh = [read_bands(scene, ["red", "blue"], grid.subgrid(t.read)).data for t in tiles]
    with DatasetCache() as datasets:
        with ThreadPoolExecutor(max_workers=2) as pool:
            cached = list(
                pool.map(
                    lambda t: read_bands(scene, ["red", "blue"], grid.subgrid(t.read), datasets=datasets).data, tiles
                )
            )
        handles = datasets._opened
        assert 1 <= len(handles) <= 2  # one per thread that read, not one per tile
    assert all(h.closed for h in handles)
    for a, b in zip(fresh, cached, strict=True):
        np.testing.assert_array_equal(a, b)
    with DatasetCache() as datasets, pytest.raises(ToolInputError, match="Cannot read raster"):
        datasets.get(str(ctx.settings.home / "missing.tif"))
