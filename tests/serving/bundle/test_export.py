"""A flood answer on the real Sen1Floods11 chip, exported as a zip and replayed from another folder."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pystac
import pytest

from geovigie.core.settings import Settings
from geovigie.serving.api.app import build_service
from geovigie.serving.bundle import export_bundle, replay_bundle, validate_folder
from geovigie.tools.catalog import ingest_paths

FLOOD_QUESTION = "Quelle est la surface en eau près d'Almoradí en septembre 2019 ?"
S2 = "sen1floods11-Spain_7370579_S2Hand"


@pytest.fixture
def flood_thread(tmp_path: Path, data_dir: Path) -> tuple[Settings, object, str]:
    settings = Settings(home=tmp_path / "home", stac_api_urls=[], llm_base_url=None, _env_file=None)  # type: ignore[call-arg]
    service = build_service(settings)
    ingest_paths([data_dir / "sen1floods11_sample"], service.ctx.db)
    answer = service.ask(FLOOD_QUESTION)
    assert answer.status == "answered" and any(f.tool == "segment" for f in answer.figures)
    return settings, service, answer.thread_id


def test_flood_answer_bundle_validates_checksums_match_the_manifest_and_replays_elsewhere(
    flood_thread, data_dir, tmp_path
):
    settings, service, thread_id = flood_thread
    archive = export_bundle(service.ctx.db, settings, thread_id, tmp_path / "out" / "flood.zip")
    names = zipfile.ZipFile(archive).namelist()
    assert "run.json" in names and "collection.json" in names and any(n.startswith("outputs/") for n in names)

    elsewhere = tmp_path / "reader"
    shutil.unpack_archive(archive, elsewhere)
    validation = validate_folder(elsewhere)
    assert validation["errors"] == [] and validation["objects"] >= 5  # collection, 2 scenes, >= 2 outputs
    collection = pystac.Collection.from_file(str(elsewhere / "collection.json"))
    items = {i.id: i for i in collection.get_items(recursive=True)}
    asset = items[S2].assets["data"]
    manifest = dict(
        reversed(line.split(maxsplit=1)) for line in (data_dir / "MANIFEST.sha256").read_text().splitlines() if line
    )
    relpath = asset.extra_fields["geovigie:data_relpath"]
    assert relpath == "sen1floods11_sample/Spain_7370579_S2Hand.tif"
    assert asset.extra_fields["geovigie:sha256"] == manifest[f"./{relpath}"]
    run = json.loads((elsewhere / "run.json").read_text())
    assert [c["tool"] for c in run["turns"][0]["calls"]] == ["geocode", "search_imagery", "segment"]

    report = replay_bundle(archive.rename(tmp_path / "moved.zip"), settings)
    assert report.ok, (report.problems, [c for c in report.checks if not c.ok])
    water = next(c for c in report.checks if c.name == "water area")
    assert water.diff == 0 and water.old > 0 and water.basis == "exact"
