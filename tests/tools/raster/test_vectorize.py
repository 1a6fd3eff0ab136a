import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.vectorize import mask_to_features

UTM = Grid(crs=CRS.from_epsg(32631), transform=Affine(10, 0, 500_000, 0, -10, 5_000_000), width=60, height=40)


def _mask():
    mask = np.zeros((40, 60), bool)
    mask[2:12, 3:13] = True  # 100 px
    mask[20:25, 30:40] = True  # 50 px
    mask[30:32, 50:52] = True  # 4 px
    mask[0, 59] = True  # 1 px
    return mask


def test_polygons_sorted_by_area_with_metric_areas_and_wgs84_outlines():
    feats, total = mask_to_features(_mask(), UTM, properties={"k": "v"})
    assert total == 4
    assert [f["properties"]["pixels"] for f in feats] == [100, 50, 4, 1]
    assert [f["properties"]["area_m2"] for f in feats] == pytest.approx([10_000, 5_000, 400, 100], rel=1e-3)
    assert all(f["properties"]["k"] == "v" for f in feats)
    lon, lat = np.asarray(feats[0]["geometry"]["coordinates"][0]).T
    assert 2.9 < lon.min() < lon.max() < 3.1 and 45 < lat.min() < lat.max() < 45.2


def test_speckle_filter_truncation_and_pixel_coordinates():
    plain = Grid(crs=None, transform=Affine.identity(), width=60, height=40)
    feats, total = mask_to_features(_mask(), plain, min_pixels=4, max_features=2, simplify_px=0.5)
    assert total == 3  # the 1 px speck is dropped before counting
    assert [f["properties"]["area_px"] for f in feats] == [100, 50]
    xs, ys = np.asarray(feats[0]["geometry"]["coordinates"][0]).T
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (3, 13, 2, 12)
    assert mask_to_features(np.zeros((5, 5), bool), plain) == ([], 0)
