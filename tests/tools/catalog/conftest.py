"""A loopback replica of Earth Search v1 and Planetary Computer for the remote-reading tests.

The servers (Range-honouring file host, ``rustac serve``) are the ``loopback`` fixture of tests/tools/conftest.py.

* item JSON: genuine Earth Search v1 and Planetary Computer items copied verbatim into
  ``tests/fixtures/stac_replica`` (sources in its README); at test time only what places them over the
  replica's pixels is rewritten (ids, datetimes, footprints, ``proj:*``, MGRS tile, hrefs, and the per-scenario
  baseline / cloud / ``boa_offset_applied`` properties); every asset key, ``eo:bands``, ``raster:bands``, role,
  title and media type stays as published;
* pixels: OSCD Bordeaux (Sentinel-2 L1C, EPSG:4326) reprojected onto MGRS tile 30TXQ's UTM grid (EPSG:32630,
  10/20/60 m, tile origin 699960 E, 5000040 N) and written as one COG per band;
* files: a small Starlette app (uvicorn) that honours single ``Range`` requests and logs every byte range; the
  Planetary-Computer-like host refuses URLs without the SAS token its ``/api/sas/v1/token/<collection>`` issues;
* STAC APIs: ``rustac serve`` (memory backend) over the items.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import Resampling, reproject, transform_bounds, transform_geom
from shapely.geometry import Point, Polygon, box, mapping

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stac_replica"
ES_ITEM = "earth_search_v1_sentinel-2-l2a_S2A_39QTA_20230628_0_L2A.json"
"""Genuine Earth Search v1 ``sentinel-2-l2a`` item (baseline 05.09, COGs + ``s3://...jp2`` mirrors)."""
PC_ITEM = "planetary_computer_sentinel-2-l2a_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json"
"""Genuine Planetary Computer ``sentinel-2-l2a`` item (no ``raster:bands``, band-id asset keys)."""
UTM = CRS.from_epsg(32630)
ORIGIN = (699960.0, 5000040.0)
ES_KEYS = {
    "coastal": "B01", "blue": "B02", "green": "B03", "red": "B04", "rededge1": "B05", "rededge2": "B06",
    "rededge3": "B07", "nir": "B08", "nir08": "B8A", "nir09": "B09", "swir16": "B11", "swir22": "B12",
}  # fmt: skip
GSD = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20, "B08": 10, "B8A": 20,
       "B09": 60, "B11": 20, "B12": 20, "SCL": 20}  # fmt: skip


def utm_grid(bounds: tuple[float, float, float, float], gsd: int) -> tuple[Affine, int, int]:
    """The 30TXQ grid at ``gsd`` covering a lon/lat box (snapped to the tile origin)."""
    left, bottom, right, top = transform_bounds("EPSG:4326", UTM, *bounds, densify_pts=21)
    x0 = ORIGIN[0] + np.floor((left - ORIGIN[0]) / gsd) * gsd
    y0 = ORIGIN[1] - np.floor((ORIGIN[1] - top) / gsd) * gsd
    width = int(np.ceil((right - x0) / gsd))
    height = int(np.ceil((y0 - bottom) / gsd))
    return Affine(gsd, 0, x0, 0, -gsd, y0), width, height


def to_utm(src_path: Path, gsd: int) -> tuple[np.ndarray, Affine]:
    """One OSCD band reprojected (nearest) onto the 30TXQ grid; 0 where the source has no pixel."""
    with rasterio.open(src_path) as src:
        transform, width, height = utm_grid(tuple(src.bounds), gsd)
        out = np.zeros((height, width), np.uint16)
        reproject(
            rasterio.band(src, 1),
            out,
            src_transform=src.transform,
            src_crs=src.crs,
            dst_transform=transform,
            dst_crs=UTM,
            dst_nodata=0,
            resampling=Resampling.nearest,
        )
    return out, transform


def write_cog(path: Path, data: np.ndarray, transform: Affine, nodata: int = 0) -> None:
    """A tiled, DEFLATE-compressed COG with overviews."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "COG", "dtype": str(data.dtype), "count": 1, "width": data.shape[1],
               "height": data.shape[0], "crs": UTM, "transform": transform, "nodata": nodata,
               "blocksize": 256, "compress": "deflate", "overview_resampling": "nearest"}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def footprint(transform: Affine, width: int, height: int) -> tuple[dict[str, Any], list[float]]:
    """WGS84 footprint and bbox of a UTM grid."""
    left, top = transform.c, transform.f
    right, bottom = left + width * transform.a, top + height * transform.e
    geom = transform_geom(UTM, "EPSG:4326", mapping(box(left, bottom, right, top).segmentize(200)))
    west, south, east, north = transform_bounds(UTM, "EPSG:4326", left, bottom, right, top, densify_pts=21)
    return geom, [west, south, east, north]


def template(name: str) -> dict[str, Any]:
    """A fixture item (deep copy)."""
    return copy.deepcopy(json.loads((FIXTURES / name).read_text()))


OSCD = "oscd/bordeaux"
CLOUD_DISK = (0.5, 0.35, 0.12)
"""Synthetic cloud of the cloudy item: centre (fraction of width, of height) and radius (fraction of width)."""


def _band_files(folder: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(folder.glob("*.tif")):
        out[path.stem.rsplit("_", 1)[-1]] = path
    return out


@dataclass
class Scenario:
    """One replica item: which pixels, which changes to them, which metadata."""

    item_id: str
    date: str
    pixels: str
    """imgs_1 or imgs_2."""
    baseline: str
    add_offset: bool = False
    cloudy: bool = False
    swath_edge: bool = False
    rows: tuple[float, float] | None = None
    """Keep only these rows (fractions of the height): one MGRS tile of an AOI across two."""
    props: dict[str, Any] = field(default_factory=dict)


def _cloud_disk(shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    cx, cy, r = CLOUD_DISK
    rows, cols = np.mgrid[0:h, 0:w]
    return (cols - cx * w) ** 2 + (rows - cy * h) ** 2 <= (r * w) ** 2


def build_files(data_dir: Path, out: Path, scenario: Scenario) -> dict[str, tuple[str, Affine, int, int]]:
    """Write the COGs of one scenario; band id -> (relative path, transform, width, height)."""
    files = _band_files(data_dir / OSCD / scenario.pixels)
    written: dict[str, tuple[str, Affine, int, int]] = {}
    cloud10: np.ndarray | None = None
    for band_id, gsd in GSD.items():
        if band_id == "SCL":
            continue
        data, transform = to_utm(files[band_id], gsd)
        valid = data > 0
        if scenario.cloudy:
            disk = _cloud_disk(data.shape)
            data = np.where(disk & valid, np.uint16(6500 if band_id not in ("B11", "B12") else 3500), data)
            cloud10 = disk if gsd == 20 else cloud10
        if scenario.swath_edge:
            data[:, : data.shape[1] // 2] = 0
            valid = data > 0
        if scenario.add_offset:
            data = np.where(valid, data + np.uint16(1000), data).astype(np.uint16)
        if scenario.rows is not None:
            r0, r1 = (int(round(f * data.shape[0])) for f in scenario.rows)
            data, transform = data[r0:r1], transform * Affine.translation(0, r0)
        rel = f"{scenario.item_id}/{band_id}.tif"
        write_cog(out / rel, data, transform)
        written[band_id] = (rel, transform, data.shape[1], data.shape[0])
    _, t20, w20, h20 = written["B11"]
    scl = np.full((h20, w20), 4, np.uint8)  # vegetation
    if cloud10 is not None:
        scl[cloud10] = 9  # cloud, high probability
    ref = (rasterio.open(out / written["B11"][0])).read(1)
    scl[ref == 0] = 0
    rel = f"{scenario.item_id}/SCL.tif"
    write_cog(out / rel, scl, t20)
    written["SCL"] = (rel, t20, w20, h20)
    return written


def _set_proj(asset: dict[str, Any], transform: Affine, width: int, height: int) -> None:
    asset["proj:shape"] = [height, width]
    asset["proj:transform"] = [transform.a, 0.0, transform.c, 0.0, transform.e, transform.f]
    if "proj:bbox" in asset:
        asset["proj:bbox"] = [transform.c, transform.f + height * transform.e, transform.c + width * transform.a,
                              transform.f]  # fmt: skip


def earth_search_item(scenario: Scenario, files: dict[str, tuple[str, Affine, int, int]], base: str) -> dict[str, Any]:
    """An Earth Search v1 ``sentinel-2-l2a`` item for the scenario's files."""
    item = template(ES_ITEM)
    for key, asset in item["assets"].items():
        band_id = ES_KEYS.get(key.removesuffix("-jp2")) or ("SCL" if key == "scl" else None)
        if band_id is not None and not key.endswith("-jp2"):
            rel, transform, width, height = files[band_id]
            asset["href"] = f"{base}/files/{rel}"
            _set_proj(asset, transform, width, height)
        elif not asset["href"].startswith("s3://"):
            asset["href"] = f"{base}/files/{scenario.item_id}/{asset['href'].rsplit('/', 1)[-1]}"
    _, transform, width, height = files["B02"]
    if scenario.swath_edge:  # the footprint follows the imaged half, as on real items
        transform, width = transform * Affine.translation(width // 2, 0), width - width // 2
    geometry, bbox = footprint(transform, width, height)
    props = item["properties"]
    props.update(
        {"datetime": scenario.date, "s2:processing_baseline": scenario.baseline, "proj:epsg": 32630,
         "mgrs:utm_zone": 30, "mgrs:latitude_band": "T", "mgrs:grid_square": "XQ", "grid:code": "MGRS-30TXQ",
         "eo:cloud_cover": 30.0 if scenario.cloudy else 0.5,
         "earthsearch:boa_offset_applied": False, **scenario.props}
    )  # fmt: skip
    item.update({"id": scenario.item_id, "geometry": geometry, "bbox": bbox, "links": []})
    return item


def planetary_item(scenario: Scenario, files: dict[str, tuple[str, Affine, int, int]], base: str) -> dict[str, Any]:
    """A Planetary Computer ``sentinel-2-l2a`` item (no raster:bands) for the scenario's files."""
    item = template(PC_ITEM)
    for key, asset in item["assets"].items():
        if key in files:
            rel, transform, width, height = files[key]
            asset["href"] = f"{base}/files/{rel}"
            _set_proj(asset, transform, width, height)
        elif asset["href"].startswith("https://sentinel2l2a01"):
            asset["href"] = f"{base}/files/{scenario.item_id}/{asset['href'].rsplit('/', 1)[-1]}"
    _, transform, width, height = files["B02"]
    geometry, bbox = footprint(transform, width, height)
    # the genuine item lies in tile 06VVN (EPSG:32606): it is moved to the replica's tile 30TXQ
    item["properties"].update({"datetime": scenario.date, "s2:processing_baseline": scenario.baseline,
                               "proj:epsg": 32630, "s2:mgrs_tile": "30TXQ"})  # fmt: skip
    item.update({"id": scenario.item_id, "geometry": geometry, "bbox": bbox, "links": []})
    return item


ES_SCENARIOS = [
    # Before 04.00 the offset Earth Search declares is wrong (element84/earth-search issues 65-71).
    Scenario("S2A_30TXQ_20160504_0_L2A", "2016-05-04T11:03:55Z", "imgs_1", "02.02"),
    # baseline 05.09 with the +1000 DN still in the pixels (boa_offset_applied false): raster:bands' -0.1 applies
    Scenario("S2B_30TXQ_20231026_0_L2A", "2023-10-26T10:50:39Z", "imgs_2", "05.09", add_offset=True),
    # baseline 05.09 already harmonised by Earth Search (boa_offset_applied true, raster:bands still says -0.1)
    Scenario(
        "S2B_30TXQ_20231105_0_L2A",
        "2023-11-05T10:50:39Z",
        "imgs_2",
        "05.09",
        props={"earthsearch:boa_offset_applied": True},
    ),  # fmt: skip
    Scenario("S2A_30TXQ_20160524_0_L2A", "2016-05-24T11:03:55Z", "imgs_1", "02.02", cloudy=True),
    Scenario("S2A_30TXQ_20160514_0_L2A", "2016-05-14T11:03:55Z", "imgs_1", "02.02", swath_edge=True),
    # one pass, two MGRS tiles: the AOI lies across their edge
    Scenario("S2A_30TXQ_20160604_0_L2A", "2016-06-04T11:03:55Z", "imgs_1", "02.02", rows=(0.45, 1.0)),
    Scenario(
        "S2A_30TXR_20160604_0_L2A",
        "2016-06-04T11:03:56Z",
        "imgs_1",
        "02.02",
        rows=(0.0, 0.6),
        props={"mgrs:grid_square": "XR", "grid:code": "MGRS-30TXR"},
    ),  # fmt: skip
]
PC_SCENARIO = Scenario(
    "S2B_MSIL2A_20231026T105039_R051_T30TXQ_20231026T132406",
    "2023-10-26T10:50:39Z",
    "imgs_2",
    "05.09",
    add_offset=True,
)


@dataclass
class Replica:
    """The running replica."""

    earth_search: str
    planetary: str
    cogs: Any
    """The COG host (a ``FileServer`` of tests/tools/conftest.py)."""
    blobs: Any
    """The Planetary-Computer-like host refusing unsigned reads."""
    root: Path
    es_items: list[dict[str, Any]]
    """The Earth Search items served (hrefs on ``cogs``)."""
    cloud_disk: Polygon
    """The cloudy item's synthetic cloud in EPSG:32630 (as drawn on its 20 m grid)."""


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory, data_dir: Path, loopback: Any) -> Iterator[Replica]:
    """Earth Search + Planetary Computer replicas on loopback (skips without rustac or the OSCD sample)."""
    if not (data_dir / OSCD).is_dir():
        pytest.skip(f"OSCD sample not found under {data_dir}")
    if loopback.rustac() is None:
        pytest.skip("rustac CLI not installed (pip install rustac)")
    root = tmp_path_factory.mktemp("replica")
    cogs, blobs = loopback.FileServer(root / "cogs"), loopback.FileServer(root / "blobs", signed=True)
    with cogs.running(), blobs.running():
        es_files = [build_files(data_dir, cogs.root, s) for s in ES_SCENARIOS]
        es_items = [earth_search_item(s, f, cogs.url) for s, f in zip(ES_SCENARIOS, es_files, strict=True)]
        _, t20, w20, h20 = next(f for s, f in zip(ES_SCENARIOS, es_files, strict=True) if s.cloudy)["SCL"]
        cx, cy, r = CLOUD_DISK
        disk = Point(t20.c + cx * w20 * t20.a, t20.f + cy * h20 * t20.e).buffer(r * w20 * t20.a, 256)
        pc_files = build_files(data_dir, blobs.root, PC_SCENARIO)
        pc_items = [planetary_item(PC_SCENARIO, pc_files, blobs.url)]
        with loopback.stac_api(es_items, root / "es") as es, loopback.stac_api(pc_items, root / "pc") as pc:
            yield Replica(
                earth_search=es, planetary=pc, cogs=cogs, blobs=blobs, root=root, es_items=es_items, cloud_disk=disk
            )
