from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
import typer
from affine import Affine
from PIL import Image
from pyproj import Transformer
from typer.testing import CliRunner

from geovigie.core.db.store import Database
from geovigie.core.errors import ToolInputError
from geovigie.serving.cli_catalog import register
from geovigie.tools.catalog.ingest import ingest_paths
from geovigie.tools.catalog.store import fingerprint_index, get_scene

S2_BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
S2_RES = {"B01": 60, "B05": 20, "B06": 20, "B07": 20, "B8A": 20, "B09": 60, "B10": 60, "B11": 20, "B12": 20}


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = "EPSG:32631",
    transform: Affine | None = None,
    descriptions: list[str] | None = None,
    tags: dict[str, str] | None = None,
    driver: str = "GTiff",
) -> Path:
    arr = data[np.newaxis] if data.ndim == 2 else data
    path.parent.mkdir(parents=True, exist_ok=True)
    profile: dict[str, Any] = {
        "driver": driver,
        "width": arr.shape[2],
        "height": arr.shape[1],
        "count": arr.shape[0],
        "dtype": arr.dtype.name,
        "transform": transform or Affine(10, 0, 500_000, 0, -10, 4_800_000),
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr)
        for i, desc in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, desc)
        if tags:
            dst.update_tags(**tags)
    return path


def make_oscd_city(root: Path, city: str, dates: tuple[str, str]) -> Path:
    """An OSCD-like city folder: 13 single-band files per date, dates.txt and a change-map label."""
    city_dir = root / city
    deg = 1e-4  # ~10 m at the equator; EPSG:4326 like OSCD
    for n in (1, 2):
        for band in S2_BANDS:
            factor = S2_RES.get(band, 10) // 10
            size = 60 // factor
            tr = Affine(deg * factor, 0, 2.0, 0, -deg * factor, 45.0)
            name = f"S2A_OPER_MSI_L1C_TL_SGS__20990101T000000_A0_T31TXX_{band}.tif"
            write_tif(
                city_dir / f"imgs_{n}" / name, np.full((size, size), 1000 + n, np.uint16), crs="EPSG:4326", transform=tr
            )
    (city_dir / "dates.txt").write_text(f"date_1: {dates[0]}\ndate_2: {dates[1]}\n")
    write_tif(city_dir / "cm" / f"{city}-cm.tif", np.ones((60, 60), np.uint8), crs=None)
    return city_dir


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'catalog.db'}")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A folder mixing every supported layout plus files that must be skipped."""
    root = tmp_path / "src"
    rng = np.random.default_rng(0)
    write_tif(
        root / "multi.tif",
        rng.integers(0, 3000, (4, 20, 30), dtype=np.uint16),
        descriptions=["B02", "B03", "B04", "B08"],
        tags={"ACQUISITION_DATETIME": "2021-06-15T10:30:00"},
    )
    write_tif(
        root / "geo" / "rgb_20200102.tif",
        rng.integers(0, 255, (3, 10, 10), dtype=np.uint8),
        crs="EPSG:4326",
        transform=Affine(1e-4, 0, 5.0, 0, -1e-4, 45.0),
    )
    write_tif(root / "pucallpa_like" / "1985.tif", np.ones((4, 8, 8), np.uint8))
    write_tif(root / "envi" / "scene_2003", np.ones((2, 8, 8), np.uint8), driver="ENVI")
    make_oscd_city(root / "oscd_like", "lyon", ("20190102", "20200304"))
    (root / "photos").mkdir()
    Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)).save(root / "photos" / "photo.png")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "photos" / "drone.jpg")
    (root / "photos" / "drone.jpg.geovigie.json").write_text(
        '{"collection": "drone", "bands": ["blue", "green", "red"], "gsd": 0.03, "datetime": "2022-03-04", '
        '"cloud_cover": 0}'
    )
    (root / "broken.tif").write_bytes(b"this is not a tiff" * 10)
    (root / "notes.txt").write_text("hello")
    return root


def test_ingest_counts_and_skips(src: Path, db: Database) -> None:
    report = ingest_paths([src], db, pixel_size_m=0.5)
    assert sorted(report.added) == sorted(
        [
            "src-multi",
            "geo-rgb_20200102",
            "pucallpa_like-1985",
            "envi-scene_2003",
            "oscd-lyon-2019-01-02",
            "oscd-lyon-2020-03-04",
            "photos-photo",
            "photos-drone",
        ]
    )
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["notes.txt"] == "not imagery (.txt)"
    assert reasons["lyon-cm.tif"] == "label raster"
    assert reasons["broken.tif"].startswith("unreadable raster")
    assert "dates.txt" not in reasons  # consumed by the OSCD product
    assert "scene_2003.hdr" not in reasons  # consumed by the ENVI raster
    assert "broken" not in " ".join(fingerprint_index(db))  # never a half-written item


def test_multiband_geotiff_item(src: Path, db: Database) -> None:
    ingest_paths([src / "multi.tif"], db)
    scene = get_scene(db, "src-multi")
    assert scene.band_names() == ["blue", "green", "red", "nir"]
    assert scene.find_band("B04") is not None and scene.find_band("B04").index == 3  # type: ignore[union-attr]
    assert scene.datetime == "2021-06-15T10:30:00Z"
    props = scene.properties
    assert props["proj:code"] == "EPSG:32631"
    assert props["proj:shape"] == [20, 30]
    assert props["gsd"] == pytest.approx(10.0)
    assert props["geovigie:georeferenced"] is True
    to_wgs = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    west, north = to_wgs.transform(500_000, 4_800_000)
    east, south = to_wgs.transform(500_300, 4_799_800)
    bbox = scene.bbox
    assert bbox is not None
    assert bbox[0] == pytest.approx(west, abs=1e-4) and bbox[3] == pytest.approx(north, abs=1e-4)
    assert bbox[2] == pytest.approx(east, abs=1e-4) and bbox[1] == pytest.approx(south, abs=1e-4)
    assert scene.item["geometry"]["type"] == "Polygon"


def test_geographic_gsd_is_converted_to_metres(src: Path, db: Database) -> None:
    ingest_paths([src / "geo"], db)
    scene = get_scene(db, "geo-rgb_20200102")
    lat = 45.0 - 5e-4  # raster centre
    dx = 1e-4 * 111_320 * math.cos(math.radians(lat))
    dy = 1e-4 * 111_130
    assert scene.gsd == pytest.approx(math.sqrt(dx * dy), rel=0.01)
    assert scene.band_names() == ["red", "green", "blue"]
    assert scene.datetime == "2020-01-02T00:00:00Z"


def test_oscd_like_product(src: Path, db: Database) -> None:
    ingest_paths([src / "oscd_like"], db)
    before = get_scene(db, "oscd-lyon-2019-01-02")
    after = get_scene(db, "oscd-lyon-2020-03-04")
    assert before.collection == after.collection == "oscd-sentinel-2-l1c"
    assert len(before.item["assets"]) == 13
    assert before.require_band("B02").common_name == "blue"
    assert before.require_band("swir16").name == "B11"
    assets = before.item["assets"]
    assert assets["B01"]["gsd"] == pytest.approx(6 * assets["B02"]["gsd"], rel=0.01)
    assert assets["B01"]["proj:shape"] == [10, 10]
    assert before.scale == pytest.approx(1e-4)
    assert before.properties["geovigie:pair_role"] == "before"
    assert after.properties["geovigie:pair_role"] == "after"
    assert before.properties["geovigie:labels"][0].endswith("lyon-cm.tif")
    assert "imgs_2" in after.require_band("red").href


def test_non_georeferenced_png_and_sidecar(src: Path, db: Database) -> None:
    ingest_paths([src / "photos"], db, pixel_size_m=0.25)
    photo = get_scene(db, "photo.png")
    assert photo.georeferenced is False
    assert photo.item["geometry"] is None and "bbox" not in photo.item
    assert photo.bbox is None
    assert photo.gsd == 0.25
    assert photo.band_names() == ["red", "green", "blue"]
    assert photo.datetime is None and photo.properties["geovigie:date_precision"] == "unknown"
    drone = get_scene(db, "photos-drone")
    assert drone.collection == "drone"
    assert drone.band_names() == ["blue", "green", "red"]  # sidecar order beats the JPEG colour interpretation
    assert drone.gsd == 0.25  # the user's --pixel-size overrides the sidecar
    assert drone.datetime == "2022-03-04T00:00:00Z"
    assert drone.cloud_cover == 0


def test_year_only_date_and_envi(src: Path, db: Database) -> None:
    ingest_paths([src / "pucallpa_like", src / "envi"], db)
    year = get_scene(db, "pucallpa_like-1985")
    assert year.datetime == "1985-07-01T00:00:00Z"
    assert year.properties["start_datetime"] == "1985-01-01T00:00:00Z"
    assert year.properties["geovigie:date_precision"] == "year"
    assert any("year only" in n for n in year.properties["geovigie:notes"])
    assert year.band_names() == ["red", "green", "blue", "nir"]  # count heuristic, with a note
    envi = get_scene(db, "envi-scene_2003")
    assert envi.datetime is not None and envi.datetime.startswith("2003")
    assert envi.properties["proj:code"] == "EPSG:32631"


def test_reingest_is_idempotent_and_detects_changes(src: Path, db: Database) -> None:
    first = ingest_paths([src], db)
    second = ingest_paths([src], db)
    assert second.counts()["added"] == 0 and second.counts()["updated"] == 0
    assert sorted(second.unchanged) == sorted(first.added)
    target = src / "multi.tif"
    os.utime(target, (target.stat().st_atime, target.stat().st_mtime + 10))
    third = ingest_paths([src], db)
    assert third.updated == ["src-multi"]
    assert len(third.unchanged) == len(first.added) - 1


def test_same_name_in_two_folders_gets_distinct_ids(tmp_path: Path, db: Database) -> None:
    a = write_tif(tmp_path / "one" / "x" / "scene.tif", np.ones((8, 8), np.uint16))
    b = write_tif(tmp_path / "two" / "x" / "scene.tif", np.ones((8, 8), np.uint16))
    report = ingest_paths([a, b], db)
    assert len(report.added) == 2 and len(set(report.added)) == 2
    again = ingest_paths([b, a], db)
    assert sorted(again.unchanged) == sorted(report.added)


def test_missing_path_is_a_tool_input_error(tmp_path: Path, db: Database) -> None:
    with pytest.raises(ToolInputError) as err:
        ingest_paths([tmp_path / "nope"], db)
    assert "does not exist" in err.value.message and err.value.hint


def test_cli_ingest_and_catalog(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GEOVIGIE_DB_URL", "")
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(src / "multi.tif"), str(src / "notes.txt")])
    assert result.exit_code == 0, result.output
    assert "added" in result.output and "not imagery (.txt)" in result.output
    listing = runner.invoke(app, ["catalog"])
    assert listing.exit_code == 0 and "src-multi" in listing.output
    bad = runner.invoke(app, ["ingest", str(tmp_path / "missing.tif")])
    assert bad.exit_code == 2
    assert "does not exist" in bad.output and "Traceback" not in bad.output


def test_real_oscd_bordeaux_and_dota(data_dir: Path, db: Database) -> None:
    bordeaux, dota = data_dir / "oscd" / "bordeaux", data_dir / "dota_samples"
    if not bordeaux.is_dir() or not dota.is_dir():
        pytest.skip("oscd/bordeaux or dota_samples missing from the sample data")
    report = ingest_paths([bordeaux, dota], db)
    assert {"oscd-bordeaux-2016-05-04", "oscd-bordeaux-2017-10-26", "dota-P0706", "dota-P1888"} <= set(report.added)
    first = get_scene(db, "oscd-bordeaux-2016-05-04")
    assert first.datetime == "2016-05-04T00:00:00Z"
    assert get_scene(db, "oscd-bordeaux-2017-10-26").datetime == "2017-10-26T00:00:00Z"
    assert len(first.bands()) == 13
    assert first.require_band("B02").common_name == "blue"
    assert first.gsd == pytest.approx(10.0, abs=0.5)
    w, s, e, n = first.bbox or (0, 0, 0, 0)
    assert -0.61 < w < e < -0.54 and 44.80 < s < n < 44.87
    p0706 = get_scene(db, "P0706.png")
    assert p0706.id == "dota-P0706" and p0706.gsd == 0.256 and not p0706.georeferenced
    assert get_scene(db, "dota-P1888").gsd == 0.266
    assert any(r.reason == "not imagery (.txt)" for r in report.skipped)


def test_real_envi_and_landsat_band_order(data_dir: Path, db: Database) -> None:
    taizhou, pucallpa = data_dir / "landsat_taizhou_cd", data_dir / "landsat_pucallpa_timeseries" / "2020.tif"
    if not taizhou.is_dir() or not pucallpa.is_file():
        pytest.skip("landsat_taizhou_cd or landsat_pucallpa_timeseries missing from the sample data")
    report = ingest_paths([taizhou, pucallpa], db)
    assert get_scene(db, "landsat-taizhou-2000TM").datetime == "2000-03-17T00:00:00Z"
    assert get_scene(db, "landsat-taizhou-2003TM").datetime == "2003-02-06T00:00:00Z"
    assert get_scene(db, "landsat-taizhou-2000TM").band_names()[3] == "nir"
    assert get_scene(db, "landsat-pucallpa-2020").band_names() == ["swir16", "nir", "red", "green"]
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert reasons["change.bmp"] == "label raster" and reasons["taizhou2000.jpg"].startswith("quick-look")


def test_corrupt_band_skips_the_whole_date_only(tmp_path: Path, db: Database) -> None:
    city = make_oscd_city(tmp_path / "oscd_like", "nice", ("20180101", "20190101"))
    next((city / "imgs_2").glob("*_B03.tif")).write_bytes(b"garbage")
    report = ingest_paths([city], db)
    assert report.added == ["oscd-nice-2018-01-01"]
    assert [Path(s.path).name for s in report.skipped if s.reason.startswith("unreadable")] == ["imgs_2"]
    assert "oscd-nice-2019-01-01" not in fingerprint_index(db)


def test_real_bigearthnet_and_sen1floods11(data_dir: Path, db: Database) -> None:
    ben = data_dir / "bigearthnet_examples"
    s2_patch = ben / "BigEarthNet-S2-Example" / "S2A_MSIL2A_20170613T101031_87_48"
    s1_patch = ben / "BigEarthNet-S1-Example" / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48"
    flood = data_dir / "sen1floods11_sample"
    if not (s2_patch.is_dir() and s1_patch.is_dir() and flood.is_dir()):
        pytest.skip("bigearthnet_examples or sen1floods11_sample missing from the sample data")
    ingest_paths([s2_patch, s1_patch, flood], db)
    s2 = get_scene(db, "bigearthnet-S2A_MSIL2A_20170613T101031_87_48")
    assert s2.collection == "bigearthnet-s2-l2a" and len(s2.bands()) == 12 and s2.scale == pytest.approx(1e-4)
    assert s2.datetime == "2017-06-13T10:10:31Z"
    assert "Non-irrigated arable land" in s2.properties["geovigie:classes"]
    s1 = get_scene(db, "bigearthnet-S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48")
    assert sorted(s1.band_names()) == ["vh", "vv"] and s1.collection == "bigearthnet-s1-grd"
    chip = get_scene(db, "sen1floods11-Spain_7370579_S2Hand")
    assert chip.datetime == "2019-09-18T00:00:00Z" and chip.require_band("B8A").common_name == "nir08"
    assert chip.properties["geovigie:labels"][0].endswith("Spain_7370579_LabelHand.tif")
    assert get_scene(db, "sen1floods11-Spain_7370579_S1Hand").datetime == "2019-09-17T00:00:00Z"
