"""Shared fixtures: isolated settings/context, a synthetic GeoTIFF factory, and the sample data root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from core.settings import Settings
from tools.base import ToolContext
from tools.catalog_store import upsert_item


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose database and artifacts live in a temporary folder."""
    return Settings(home=tmp_path / "home", stac_api_urls=[], llm_base_url=None, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def ctx(settings: Settings) -> ToolContext:
    """A tool context on the temporary settings."""
    return ToolContext.from_settings(settings)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The labelled sample data root (GEOVIGIE_DATA_DIR); tests using it skip when it is absent."""
    root = Settings().data_dir
    if not root.is_dir():
        pytest.skip(f"sample data not found at {root} (set GEOVIGIE_DATA_DIR to the shared/data folder)")
    return root


GeoTiffFactory = Callable[..., Path]


@pytest.fixture
def make_geotiff(tmp_path: Path) -> GeoTiffFactory:
    """Write a GeoTIFF from a (bands, H, W) array; defaults to UTM 31N at 10 m."""

    def make(
        data: np.ndarray,
        *,
        name: str = "scene.tif",
        crs: str | None = "EPSG:32631",
        transform: Affine | None = None,
        descriptions: list[str] | None = None,
        nodata: float | None = None,
        tags: dict[str, str] | None = None,
    ) -> Path:
        arr = data[np.newaxis] if data.ndim == 2 else data
        path = tmp_path / name
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": arr.shape[2],
            "height": arr.shape[1],
            "count": arr.shape[0],
            "dtype": arr.dtype.name,
            "transform": transform or Affine(10, 0, 500_000, 0, -10, 4_800_000),
            "nodata": nodata,
        }
        if crs:
            profile["crs"] = crs
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr)
            if descriptions:
                for i, desc in enumerate(descriptions, start=1):
                    dst.set_band_description(i, desc)
            if tags:
                dst.update_tags(**tags)
        return path

    return make


def register_scene(
    ctx: ToolContext,
    path: Path,
    *,
    item_id: str,
    bands: list[tuple[str, str]],
    datetime: str | None = "2020-06-01T10:00:00Z",
    scale: float | None = None,
    georeferenced: bool = True,
    gsd: float | None = 10.0,
    bbox: list[float] | None = None,
) -> str:
    """Add a one-asset STAC item for a test raster to the catalog (name, common_name per band)."""
    props: dict[str, Any] = {"datetime": datetime, "gsd": gsd, "geovigie:georeferenced": georeferenced}
    if scale is not None:
        props["geovigie:scale"] = scale
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": "test",
        "geometry": None,
        "bbox": bbox,
        "properties": props,
        "assets": {
            "data": {
                "href": str(path),
                "roles": ["data"],
                "eo:bands": [{"name": n, "common_name": c} for n, c in bands],
            }
        },
        "links": [],
    }
    upsert_item(ctx.db, item, source_path=str(path), fingerprint=item_id)
    return item_id


@pytest.fixture
def register() -> Callable[..., str]:
    """The :func:`register_scene` helper, as a fixture (conftest is not importable in importlib mode)."""
    return register_scene
