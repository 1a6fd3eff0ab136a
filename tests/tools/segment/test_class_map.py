import numpy as np
from affine import Affine

from geovigie.tools.catalog.store import get_scene
from geovigie.tools.raster.read import scene_grid
from geovigie.tools.segment.class_map import _decimated_grid, read_decimated

BANDS = [("B04", "red")]


def test_decimated_read_of_a_second_date_with_a_smaller_footprint(ctx, make_geotiff, register):
    first = make_geotiff(np.full((1, 100, 100), 100, np.uint16), name="d1.tif")
    # Date 2 covers only rows/columns 20-79 of date 1's grid.
    t2 = Affine(10, 0, 500_000 + 200, 0, -10, 4_800_000 - 200)
    second = make_geotiff(np.full((1, 60, 60), 300, np.uint16), name="d2.tif", transform=t2)
    before = get_scene(ctx.db, register(ctx, first, item_id="d1", bands=BANDS, scale=1e-4))
    after = get_scene(ctx.db, register(ctx, second, item_id="d2", bands=BANDS, scale=1e-4))
    grid = scene_grid(before, None)
    small = _decimated_grid(grid, (25, 25))
    raster = read_decimated(after, ["red"], grid, small)
    red = raster.data[0]
    assert raster.grid == small and red.shape == (25, 25)
    inside = np.zeros((25, 25), bool)
    inside[5:20, 5:20] = True
    np.testing.assert_allclose(red[inside], 0.03, rtol=1e-6)
    assert np.isnan(red[~inside]).all()
    np.testing.assert_allclose(read_decimated(before, ["red"], grid, small).data, 0.01, rtol=1e-6)
