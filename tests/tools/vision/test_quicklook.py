import numpy as np
from PIL import Image

from geovigie.tools.registry import TOOLS


def test_quicklook_writes_png_with_provenance(ctx, make_geotiff, register):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 3000, size=(3, 64, 80), dtype=np.uint16)
    path = make_geotiff(data, name="q.tif")
    register(ctx, path, item_id="scene-q", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")], scale=1e-4)
    out = TOOLS["quicklook"].run({"item_id": "scene-q"}, ctx)
    png = out.artifacts[0]
    img = Image.open(png.path)
    # Warped onto Web Mercator for the map (transparent outside the footprint), about the scene's size.
    assert abs(img.size[0] - 80) <= 3 and abs(img.size[1] - 64) <= 3 and img.mode == "RGBA"
    assert png.bbox is not None and png.bbox[0] < png.bbox[2] and png.bbox[1] < png.bbox[3]
    assert out.provenance.scenes[0].item_id == "scene-q"
    assert out.provenance.crs == "EPSG:32631" and abs((out.provenance.pixel_size_m or 0) - 10) < 1e-6
    # Idempotent content addressing: same inputs, same artifact id.
    assert TOOLS["quicklook"].run({"item_id": "q.tif"}, ctx).artifacts[0].id == png.id


def test_quicklook_downsamples_large_scene(ctx, make_geotiff, register):
    data = np.ones((3, 600, 900), np.uint16)
    data[:, :300] = 2000
    path = make_geotiff(data, name="big.tif")
    register(ctx, path, item_id="big", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])
    out = TOOLS["quicklook"].run({"item_id": "big", "max_side": 300}, ctx)
    assert max(out.result.width, out.result.height) <= 300
