"""Remote reading end to end against the loopback Earth Search / Planetary Computer replica (see conftest.py).

Every figure is compared with the same question asked of the local OSCD sample (EPSG:4326 L1C files); the
replica's pixels are the same values reprojected to UTM 30N, so the figures agree within resampling error.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import ingest_paths, search_imagery
from geovigie.tools.raster import decision_of
from geovigie.tools.segment import segment

AOI = (-0.595, 44.815, -0.556, 44.862)
"""Inside the OSCD Bordeaux crop (Garonne, docks, city): water, built-up and vegetation."""


def _remote_ctx(tmp_path: Path, replica: Any, *urls: str) -> ToolContext:
    settings = Settings(
        home=tmp_path / "remote",
        stac_api_urls=list(urls),
        stac_timeout_s=10,
        stac_asset_hosts=[replica.cogs.host, replica.blobs.host],
        stac_sas_urls={replica.planetary: f"{replica.blobs.url}/api/sas/v1/token"},
        _env_file=None,  # type: ignore[call-arg]
    )
    return ToolContext.from_settings(settings)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> ToolContext:
    settings = Settings(home=tmp_path_factory.mktemp("local"), _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    ingest_paths([data_dir / "oscd" / "bordeaux"], ctx.db)
    return ctx


def _find(ctx: ToolContext, start: str, end: str, **extra: Any) -> list[str]:
    out = search_imagery.run({"bbox": AOI, "start": start, "end": end, "collections": ["sentinel-2-l2a"], **extra}, ctx)
    return [i.item_id for i in out.result.items]


def _figure(out: Any, name: str) -> float:
    return next(f.value for f in out.figures if f.name == name)


def test_water_matches_the_local_sample(replica: Any, local: ToolContext, tmp_path: Path) -> None:
    ctx = _remote_ctx(tmp_path, replica, replica.earth_search)
    ids = _find(ctx, "2016-05-01", "2016-05-06")
    assert len(ids) == 1 and ids[0].endswith("/sentinel-2-l2a/S2A_30TXQ_20160504_0_L2A")
    remote = segment.run({"item_id": ids[0], "target": "water", "bbox": AOI}, ctx)
    base = segment.run({"item_id": "oscd-bordeaux-2016-05-04", "target": "water", "bbox": AOI}, local)
    print("water", [(f.name, f.value) for f in remote.figures], [(f.name, f.value) for f in base.figures])
    assert remote.result.area_m2 == pytest.approx(base.result.area_m2, rel=0.04)
    # the wrong pre-04.00 offset of the metadata was dropped, and provenance says so and links the item
    assert any("dropped: baseline 02.02" in d for d in decision_of(ids[0]))
    assert remote.provenance.scenes[0].href.startswith(replica.earth_search)
