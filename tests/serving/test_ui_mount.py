"""The chat mounted on the API app: one process, API routes untouched, Leaflet served locally, key login."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.serving.api.app import create_app
from geovigie.serving.api.security import create_key
from geovigie.serving.api.service import TurnService
from geovigie.serving.api.ui_mount import catalog_rows, ingest_uploads, probe_stac_api, service_status
from geovigie.ui.hooks import ASSETS_URL


def _planner():
    return RunnableLambda(lambda messages: AIMessage(content="Nothing to measure."))


@pytest.fixture
def service(settings, ctx, make_geotiff, register):
    data = np.random.default_rng(3).integers(100, 3000, size=(3, 16, 16), dtype=np.uint16)
    register(ctx, make_geotiff(data, name="m.tif"), item_id="mount-scene", bands=[("B04", "red"), ("B03", "green")])
    agent = build_agent(
        settings=settings,
        ctx=ctx,
        model=_planner(),
        planner_name="scripted",
        checkpointer=sqlite_checkpointer(settings),
    )
    return TurnService(settings=settings, ctx=ctx, agent=agent)


def test_chat_at_root_and_api_routes_still_work(settings, service):
    with TestClient(create_app(settings, service=service, mount_ui=True)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.post("/v1/ask", json={"question": "hello"}).json()["text"] == "Nothing to measure."
        assert client.get("/openapi.json").status_code == 200
        leaflet = client.get(ASSETS_URL + "/leaflet/leaflet.js")
        assert leaflet.status_code == 200 and "Leaflet 1.9.4" in leaflet.text[:200]
        assert client.get(ASSETS_URL + "/geovigie-map.js").status_code == 200
        assert client.get("/gradio_api/file=/etc/passwd").status_code in (403, 404)


def test_hooks_catalog_status_and_uploads(settings, service, make_geotiff, tmp_path, monkeypatch):
    rows = catalog_rows(service)
    assert [r["id"] for r in rows] == ["mount-scene"] and rows[0]["gsd"] == 10.0
    assert rows[0]["bbox"] is None  # registered without a footprint
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))  # uploads are ingested only from Gradio's upload folder
    upload = make_geotiff(np.ones((3, 8, 8), dtype=np.uint16), name="field.tif")
    first = ingest_uploads(service, [upload], None)
    again = ingest_uploads(service, [upload], None)
    # The same bytes again reuse the stored copy and its item: no duplicate that makes "field.tif" ambiguous.
    assert len(first["added"]) == 1 and again["added"] == [] and len(again["unchanged"]) == 1
    (tmp_path / "sub").mkdir()
    other = make_geotiff(np.full((3, 8, 8), 7, dtype=np.uint16), name="sub/field.tif")
    changed = ingest_uploads(service, [other], None)
    assert len(changed["added"]) == 1  # another file with the same name is kept, not overwritten
    stored = sorted(p.name for p in (settings.home / "uploads").iterdir())
    assert stored == ["field-2.tif", "field.tif"]
    status = service_status(service)
    assert status["planner"] == "scripted" and status["catalog_items"] == 3 and status["stac_apis"] == []
    assert status["interpreter"].startswith("offline")
    down = probe_stac_api("http://127.0.0.1:9/v1", timeout_s=1)  # nothing listens on the discard port
    assert down == {"url": "http://127.0.0.1:9/v1", "ok": False, "detail": "ConnectError"}


def test_off_loopback_the_chat_asks_for_an_api_key(settings, service):
    settings.api_host = "0.0.0.0"
    with TestClient(create_app(settings, service=service, mount_ui=True)) as client:
        _, secret = create_key(service.ctx.db, name="ui")
        assert client.post("/login", data={"username": "me", "password": "wrong"}).status_code >= 400
        assert client.post("/login", data={"username": "me", "password": secret}).status_code == 200


def test_uploads_have_their_own_size_limit(settings, service):
    settings.api_max_request_bytes = 1_000
    settings.ui_max_upload_bytes = 3_000_000
    with TestClient(create_app(settings, service=service, mount_ui=True)) as client:
        big = client.post("/gradio_api/upload", files={"files": ("scene.tif", b"\0" * 2_000_000, "image/tiff")})
        assert big.status_code == 200 and big.json()[0].endswith("scene.tif")
        assert client.post("/v1/ask", json={"question": "x" * 2_000}).status_code == 413  # the API keeps its limit
        huge = client.post("/gradio_api/upload", files={"files": ("huge.tif", b"\0" * 3_100_000, "image/tiff")})
        assert huge.status_code == 413
