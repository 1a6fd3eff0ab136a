"""``segment`` over a two-scene mosaic on a real Dask LocalCluster: the same answer as in-process."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geovigie.tools.base import ToolContext
from geovigie.tools.raster import close_dask_clients
from geovigie.tools.segment import segment

BANDS = [("B03", "green"), ("B04", "red"), ("B08", "nir"), ("B11", "swir16")]


def _mosaic(tmp_path, make_geotiff) -> str:
    """Two adjacent 4-band scenes (lakes on the left one, fields on both) and a VRT over them."""
    rng = np.random.default_rng(5)
    paths = []
    for k in range(2):
        data = rng.integers(300, 3000, size=(4, 200, 150), dtype=np.uint16)
        data[2] += 1500  # vegetation: nir high
        if k == 0:
            data[:, 40:120, 30:110] = np.array([500, 300, 200, 100], np.uint16)[:, None, None]  # a lake
        transform = Affine(10, 0, 500_000 + k * 1500, 0, -10, 4_800_000)
        paths.append(make_geotiff(data, name=f"part{k}.tif", transform=transform, nodata=0))
    bands = "".join(
        f"<VRTRasterBand dataType='UInt16' band='{b}'><NoDataValue>0</NoDataValue>"
        + "".join(
            f"<SimpleSource><SourceFilename relativeToVRT='1'>{p.name}</SourceFilename><SourceBand>{b}</SourceBand>"
            f"<SrcRect xOff='0' yOff='0' xSize='150' ySize='200'/><DstRect xOff='{150 * k}' yOff='0' xSize='150' "
            "ySize='200'/></SimpleSource>"
            for k, p in enumerate(paths)
        )
        + "</VRTRasterBand>"
        for b in range(1, 5)
    )
    with rasterio.open(paths[0]) as src:
        srs = src.crs.to_wkt()
    vrt = tmp_path / "mosaic.vrt"
    vrt.write_text(
        f"<VRTDataset rasterXSize='300' rasterYSize='200'><SRS>{srs}</SRS>"
        f"<GeoTransform>500000, 10, 0, 4800000, 0, -10</GeoTransform>{bands}</VRTDataset>"
    )
    return str(vrt)


@pytest.fixture
def mosaic_item(ctx, make_geotiff, register, tmp_path):
    from pathlib import Path

    return register(ctx, Path(_mosaic(tmp_path, make_geotiff)), item_id="mosaic", bands=BANDS, scale=1e-4)


def test_segment_over_a_mosaic_on_dask_matches_in_process(ctx, mosaic_item):
    ref = segment.run({"item_id": mosaic_item, "target": "water"}, ctx)
    settings = ctx.settings.model_copy(update={"executor": "dask", "dask_workers": 1, "tile_size": 64})
    progress: list[str] = []
    dask_ctx = ToolContext(settings=settings, db=ctx.db, artifacts=ctx.artifacts,
                           progress=lambda _f, m: progress.append(m))  # fmt: skip
    try:
        out = segment.run({"item_id": mosaic_item, "target": "water"}, dask_ctx)
    finally:
        close_dask_clients()
    assert out.result.run_id is not None and out.result.coverage == 1.0
    assert out.result.area_px == ref.result.area_px > 0 and out.result.valid_pixels == ref.result.valid_pixels
    assert out.result.fraction == ref.result.fraction and out.result.tiles == 5 * 4
    assert any("(dask)" in m for m in progress)  # progress per tile from the Dask client loop
