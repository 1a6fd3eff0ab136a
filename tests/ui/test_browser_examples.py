"""Examples picked on the map, in headless Chromium: the real app, the offline planner and map_from_examples.

A person looks at the Sen1Floods11 scene, types a class in the map's Examples panel, clicks points on the water and
on the land, presses "Map from examples" and gets the class map (overlay + legend with per-class areas) on the map
and the per-class areas in the answer; "Find similar" then asks for places like the last point. Presto is
replaced by its classical fallback (standardised raw bands) to keep the test fast on two cores; the tools and the
planner are otherwise the real ones. Needs the sample data, the ``playwright`` package and a system Chromium.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import date
from pathlib import Path

import pytest

from geovigie.agent.offline.model import OfflinePlanner
from geovigie.agent.runner import build_agent, sqlite_checkpointer
from geovigie.serving.api.app import create_app
from geovigie.serving.api.service import TurnService
from geovigie.tools.catalog.ingest import ingest_paths
from geovigie.tools.models import ModelUnavailableError

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
CHROMIUM = os.environ.get("GEOVIGIE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

S2 = "sen1floods11-Spain_7370579_S2Hand"
# Water (the flooded fields) and dry land of the scene, checked against its hand labels (LabelHand.tif).
WATER = [(38.10074, -0.77772), (38.1114, -0.7686)]
LAND = [(38.12751, -0.77574), (38.12571, -0.77835)]


@pytest.fixture
def app_url(settings, ctx, data_dir, monkeypatch):
    import uvicorn

    import geovigie.tools.embed.service as embed_service

    def unavailable(_settings):
        raise ModelUnavailableError("Presto is left out of this test.", hint="(speed)")

    monkeypatch.setattr(embed_service, "presto_onnx", unavailable)
    ingest_paths([data_dir / "sen1floods11_sample"], ctx.db)
    planner = OfflinePlanner(ctx=ctx, today=lambda: date(2026, 11, 25))
    agent = build_agent(settings=settings, ctx=ctx, model=planner, planner_name="offline",
                        checkpointer=sqlite_checkpointer(settings))  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        settings.api_port = sock.getsockname()[1]
    app = create_app(settings, service=TurnService(settings=settings, ctx=ctx, agent=agent), mount_ui=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.api_port}"
    server.should_exit = True
    thread.join(timeout=10)


def _click(page, frame, label: str, points: list[tuple[float, float]]) -> None:
    frame.locator(".gv-ex-class").fill(label)
    for lat, lon in points:
        xy = frame.locator("#map").evaluate(
            "(el, ll) => { const p = window.geovigie.map.latLngToContainerPoint(ll); return [p.x, p.y]; }", [lat, lon]
        )
        box = page.locator("#map-panel iframe").bounding_box()
        inner = frame.locator("#map").bounding_box()
        assert box is not None and inner is not None
        page.mouse.click(inner["x"] + xy[0], inner["y"] + xy[1])


def test_points_clicked_on_the_map_give_a_class_map(app_url, browser_page_examples):
    page = browser_page_examples
    page.goto(app_url + "/", wait_until="load")
    box = page.locator("#chat-input textarea")
    box.fill(f"Show me {S2}")
    box.press("Enter")
    page.locator('#downloads a[download^="geovigie-report"]').first.wait_for(state="attached")  # the turn is over
    frame = page.frame_locator("#map-panel iframe")
    frame.locator("img.leaflet-image-layer").first.wait_for(state="visible")
    frame.locator(".gv-examples").wait_for(state="visible")
    frame.locator(".gv-ex-pick").click()
    _click(page, frame, "water", WATER)
    _click(page, frame, "land", LAND)
    assert frame.locator("path.gv-example").count() == 4  # one marker per click, coloured per class
    assert frame.locator(".gv-ex-list").get_by_text("water: 2").count() == 1
    # a marker clicked again is removed, and clicked back
    frame.locator("path.gv-example").last.click()
    assert frame.locator("path.gv-example").count() == 3
    _click(page, frame, "land", LAND[1:])
    assert frame.locator("path.gv-example").count() == 4, page.evaluate("JSON.stringify(window.geovigieExamples)")
    frame.locator(".gv-ex-run").click()
    page.locator("#chat").get_by_text("Map from the examples", exact=False).first.wait_for(state="visible")
    text = page.locator("#chat").inner_text()
    assert "land" in text and "water" in text and "raw bands" in text
    frame = page.frame_locator("#map-panel iframe")
    frame.locator(".gv-legend").get_by_text("water:", exact=False).first.wait_for(state="visible")
    assert "km²" in frame.locator(".gv-legend").inner_text()
    # the points stay in the page: the redrawn map shows them again
    assert frame.locator("path.gv-example").count() == 4
    # "Find similar" asks for places like the last point clicked
    frame.locator(".gv-ex-similar").click()
    page.locator("#chat").get_by_text("places like the example found", exact=False).first.wait_for(state="visible")


@pytest.fixture
def browser_page_examples():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(90_000)
        yield page
        context.close()
        browser.close()
