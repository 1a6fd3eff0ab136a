"""`GET /v1/threads/{id}/bundle` (a replayable zip, behind the API's keys) and the chat's bundle download hook."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from geovigie.serving.api.app import build_service, create_app
from geovigie.serving.api.security import create_key
from geovigie.serving.api.ui_mount import build_hooks
from geovigie.serving.bundle import replay_bundle

LAKE = "lake-2020-06-01"


@pytest.fixture
def service(settings, ctx, make_geotiff, register):
    green, nir, swir = (np.full((64, 64), v, np.uint16) for v in (800, 3000, 2500))
    green[:, :20], nir[:, :20], swir[:, :20] = 1200, 300, 150
    data = np.stack([green, nir, swir]) + np.random.default_rng(3).integers(0, 40, (3, 64, 64)).astype(np.uint16)
    register(
        ctx,
        make_geotiff(data, name="lake.tif"),
        item_id=LAKE,
        bands=[("B03", "green"), ("B08", "nir"), ("B11", "swir16")],
        scale=0.0001,
    )
    return build_service(settings)


def test_bundle_route_serves_a_zip_that_replays_and_needs_a_key_when_keys_are_required(settings, service, tmp_path):
    key_id, secret = create_key(service.ctx.db, name="reader")
    _, other = create_key(service.ctx.db, name="someone else")
    answer = service.ask(f"What is the water area in {LAKE}?", thread_id="flood-th", owner=key_id)
    keyed = settings.model_copy(update={"api_require_keys": True})
    with TestClient(create_app(keyed, service=service)) as client:
        assert client.get("/v1/threads/flood-th/bundle").status_code == 401
        headers = {"Authorization": f"Bearer {secret}"}
        assert client.get("/v1/threads/nope/bundle", headers=headers).status_code == 404
        theirs = client.get("/v1/threads/flood-th/bundle", headers={"Authorization": f"Bearer {other}"})
        assert theirs.status_code == 404  # another key's thread reads as missing, as GET /v1/threads/{id}
        reply = client.get("/v1/threads/flood-th/bundle", params={"turn": 1}, headers=headers)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/zip"
    archive = tmp_path / "got.zip"
    archive.write_bytes(reply.content)
    run = json.loads(zipfile.ZipFile(io.BytesIO(reply.content)).read("run.json"))
    assert run["thread_id"] == "flood-th" and run["turns"][0]["figures"] == [
        f.model_dump(mode="json") for f in answer.figures
    ]
    assert replay_bundle(archive, settings).ok


def test_chat_hook_bundles_the_latest_turn_into_the_ui_folder(service, tmp_path):
    service.ask(f"What is the water area in {LAKE}?", thread_id="ui-th")
    service.ask(f"And the water area in {LAKE} again?", thread_id="ui-th")
    hooks = build_hooks(lambda: service)
    assert hooks.bundle is not None
    path = hooks.bundle("ui-th", tmp_path / "bundles")
    assert path is not None and path.parent == tmp_path / "bundles" and path.name.endswith("-turn2.zip")
    assert [t["turn"] for t in json.loads(zipfile.ZipFile(path).read("run.json"))["turns"]] == [2]
    assert hooks.bundle("no-such-thread", tmp_path / "bundles") is None
