import numpy as np
import rasterio

from tools.catalog_store import get_scene
from tools.raster_read import scene_grid
from tools.tiled import NODATA, read_classes, run_tiled


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
