"""The chat as a person uses it: the real app (API + Gradio) on a loopback port, driven in headless Chromium.

Needs the ``playwright`` Python package and a system Chromium (``apt-get install chromium``); no browser
download. Set ``GEOVIGIE_SCREENSHOTS=DIR`` to also save the scripted conversations as DIR/screenshot-flood.png
and DIR/screenshot-count.png (the README's screenshots come from the real planner: ``python -m
geovigie.ui.screenshots``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image

from geovigie.serving.api.app import create_app

pytestmark = [
    pytest.mark.browser,
    # Raised inside Gradio's queue (pandas 3 deprecations), not by GeoVigie.
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
CHROMIUM = os.environ.get("GEOVIGIE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

SCREENSHOTS = Path(os.environ["GEOVIGIE_SCREENSHOTS"]) if os.environ.get("GEOVIGIE_SCREENSHOTS") else None
TURN_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def base_url(settings, ui_service):
    """The real app (API routes and the chat at /) served by uvicorn in a thread."""
    import uvicorn

    settings.api_port = _free_port()
    app = create_app(settings, service=ui_service, mount_ui=True)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{settings.api_port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser_page():
    """A Chromium page that refuses (and records) every request leaving the loopback interface."""
    external: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(accept_downloads=True, viewport={"width": 1440, "height": 1000})

        def guard(route):
            host = urlparse(route.request.url).hostname
            if host in ("127.0.0.1", "localhost") or route.request.url.startswith(("data:", "blob:", "about:")):
                route.continue_()
            else:
                external.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(TURN_TIMEOUT_MS)
        yield page, external
        context.close()
        browser.close()


def _ask(page, question: str, expected: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(question)
    box.press("Enter")
    page.locator("#chat").get_by_text(expected, exact=False).first.wait_for(state="visible")


def test_flood_question_shows_tools_images_map_and_downloads(base_url, browser_page):
    page, external = browser_page
    page.goto(base_url + "/", wait_until="load")
    page.wait_for_selector("#chat-input textarea")
    _ask(page, "Flood extent near Orihuela in September 2019?", "Flooded area near Orihuela")

    chat = page.locator("#chat")
    assert chat.get_by_text("water_extent", exact=False).first.is_visible()
    assert chat.get_by_text("Sources and method", exact=False).first.is_visible()
    images = chat.locator("img")
    images.first.wait_for(state="visible")
    assert images.count() >= 2  # the quicklook and the water overlay

    frame = page.frame_locator("#map-panel iframe")
    frame.locator("path.leaflet-interactive").first.wait_for(state="visible")
    assert frame.locator("img.leaflet-image-layer").count() >= 2  # imagery is the base layer

    link = page.locator('#downloads a[download$=".geojson"]').first
    with page.expect_download() as info:
        link.click()
    collection = json.loads(Path(info.value.path()).read_text())
    assert collection["type"] == "FeatureCollection"
    assert collection["features"][0]["geometry"]["type"] == "Polygon"
    assert page.locator('#downloads a[download^="geovigie-report"]').count() == 2  # Markdown + HTML

    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "screenshot-flood.png"), full_page=True)
    assert external == [], f"the page tried to reach the internet: {external[:5]}"


def test_counting_errors_and_reopening_a_thread(base_url, browser_page):
    page, external = browser_page
    page.goto(base_url + "/", wait_until="load")
    page.wait_for_selector("#chat-input textarea")
    page.locator("#examples").get_by_text("How many ships are in P0706.png?").click()
    page.locator("#chat").get_by_text("I count 3 ships", exact=False).first.wait_for(state="visible")
    assert page.locator("#chat img").count() >= 2
    frame = page.frame_locator("#map-panel iframe")
    frame.get_by_text("not georeferenced", exact=False).wait_for()
    frame.locator("img.pixels").wait_for(state="visible")  # the pixel evidence is shown instead of a map
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "screenshot-count.png"), full_page=True)

    _ask(page, "x" * 4100, "characters long")  # a typed error becomes a sentence, never a traceback
    assert page.locator("#chat").get_by_text("Traceback").count() == 0

    page.locator("#new-thread").click()
    page.locator("#chat").get_by_text("I count 3 ships").wait_for(state="detached")
    page.locator("#threads input").click()
    page.get_by_role("option", name="How many ships are in P0706.png?", exact=False).first.click()
    page.locator("#chat").get_by_text("I count 3 ships", exact=False).first.wait_for(state="visible")
    assert external == [], f"the page tried to reach the internet: {external[:5]}"


def test_map_falls_back_to_a_static_image_when_leaflet_cannot_load(base_url, browser_page):
    page, _ = browser_page
    page.route("**/leaflet.js", lambda route: route.abort())
    page.goto(base_url + "/", wait_until="load")
    page.wait_for_selector("#chat-input textarea")
    _ask(page, "Flood extent near Orihuela in September 2019?", "Flooded area near Orihuela")
    static = page.frame_locator("#map-panel iframe").locator('img[alt="static map"]')
    static.wait_for(state="visible")
    assert static.evaluate("img => img.naturalWidth") > 100  # the PNG really loaded: never a blank map


def test_screenshot_script_waits_for_the_complete_answer(base_url, tmp_path):
    from geovigie.ui.screenshots import capture

    out = tmp_path / "shot.png"
    assert capture(base_url, [("How many ships are in P0706.png?", out)], chromium=CHROMIUM, timeout_s=60) == [out]
    with Image.open(out) as shot:
        assert shot.width == 1440 and shot.height >= 1000
