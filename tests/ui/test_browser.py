"""The chat as a person uses it: the real app (API + Gradio) on a loopback port, driven in headless Chromium.

For a flood, a counting and a change conversation: the vector results and the raster overlay share bounds
within one overlay pixel (measured on the Leaflet layers and the overlay's own pixels), the answer's first
sentence is in view after the turn, a follow-up "show me the polygons" keeps the map, and a question typed
during a turn is queued and answered. A bare clone's first screen shows what to do; at 400 px the input is in view.

Needs the ``playwright`` Python package and a system Chromium (``apt-get install chromium``); no browser
download. Set ``GEOVIGIE_SCREENSHOTS=DIR`` to also save the scripted conversations as DIR/screenshot-*.png
(desktop and phone).
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
# As drawn and answered by the stand-ins of tests/ui/conftest.py (conftest is not importable in importlib mode).
BOX_RGB = (255, 214, 0)
GAIN_RGB = (0, 114, 178)
POLYGONS_TEXT = "The water polygons are the outlined shapes on the map."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve(settings):
    """Start the real app (API routes and the chat at /) for a turn service; returns its base URL."""
    import uvicorn

    servers = []

    def start(service) -> str:
        settings.api_port = _free_port()
        app = create_app(settings, service=service, mount_ui=True)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.api_port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("uvicorn did not start within 30 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{settings.api_port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def base_url(serve, ui_service):
    """The app on the three-scene catalog."""
    return serve(ui_service)


@pytest.fixture
def browser_page():
    """A Chromium page (1440x900) that refuses (and records) every request leaving the loopback interface."""
    external: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        context = browser.new_context(accept_downloads=True, viewport={"width": 1440, "height": 900})

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


def _open(page, url: str) -> None:
    page.goto(url + "/", wait_until="load")
    page.wait_for_selector("#chat-input textarea")


def _send(page, question: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(question)
    box.press("Enter")


def _ask(page, question: str, expected: str) -> None:
    _send(page, question)
    page.locator("#chat").get_by_text(expected, exact=False).first.wait_for(state="visible")


IN_VIEW_JS = """e => {
  // Visible to a person: inside the window and not scrolled away inside the chat (the element is on top there).
  const r = e.getBoundingClientRect(), x = r.left + Math.min(24, r.width / 2), y = r.top + Math.min(8, r.height / 2);
  if (y < 0 || y > innerHeight || x < 0 || x > innerWidth) return false;
  const hit = document.elementFromPoint(x, y);
  return !!hit && (e.contains(hit) || hit.contains(e));
}"""


def _wait_in_view(element, what: str) -> None:
    element.wait_for(state="visible")
    deadline = time.monotonic() + 5  # the chat scrolls to the latest turn right after it starts and ends
    while not element.evaluate(IN_VIEW_JS):
        assert time.monotonic() < deadline, f"{what} is not in view"
        time.sleep(0.1)


def _assert_in_view(page, text: str) -> None:
    _wait_in_view(page.locator("#chat").get_by_text(text, exact=False).first, f"the answer {text!r}")


ALIGNMENT_JS = """async ({role, rgb}) => {
  // Where the overlay's marked pixels fall, against the vector layers' bounds, in overlay pixels.
  const g = window.geovigie, im = g.images.find(i => i.role === role && g.map.hasLayer(i.layer));
  const el = im.layer.getElement();
  if (!el.complete || !el.naturalWidth) await new Promise(r => el.addEventListener('load', r, {once: true}));
  const W = el.naturalWidth, H = el.naturalHeight, canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  const c2d = canvas.getContext('2d'); c2d.drawImage(el, 0, 0);
  const d = c2d.getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const k = 4 * (y * W + x);
    const hit = rgb ? d[k + 3] === 255 && d[k] === rgb[0] && d[k + 1] === rgb[1] && d[k + 2] === rgb[2] : d[k + 3] > 0;
    if (hit) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  }
  const z = 22, b = im.layer.getBounds();
  const nw = g.map.project(b.getNorthWest(), z), se = g.map.project(b.getSouthEast(), z);
  const px = (se.x - nw.x) / W, py = (se.y - nw.y) / H;
  let vb = null;
  g.vectors.forEach(v => {
    const bb = v.layer.getBounds();
    vb = vb ? vb.extend(bb) : L.latLngBounds(bb.getSouthWest(), bb.getNorthEast());
  });
  const vnw = g.map.project(vb.getNorthWest(), z), vse = g.map.project(vb.getSouthEast(), z);
  return {size: [W, H], marked: x1 - x0 + 1, offsets: [
    (vnw.x - (nw.x + x0 * px)) / px, (vnw.y - (nw.y + y0 * py)) / py,
    (vse.x - (nw.x + (x1 + 1) * px)) / px, (vse.y - (nw.y + (y1 + 1) * py)) / py]};
}"""


def _assert_aligned(frame, *, role: str = "overlay", rgb: tuple[int, int, int] | None = None) -> None:
    from playwright.sync_api import Error as PlaywrightError

    script = f"async () => ({ALIGNMENT_JS})({json.dumps({'role': role, 'rgb': rgb})})"
    for attempt in range(3):
        frame.locator("path.leaflet-interactive").first.wait_for(state="visible")
        frame.locator("img.leaflet-image-layer").first.wait_for(state="visible")
        try:
            found = frame.locator("#map").evaluate(script)
            break
        except PlaywrightError as exc:  # the map frame was replaced by the final answer's map mid-measure
            if "context was destroyed" not in str(exc) or attempt == 2:
                raise
    assert found["marked"] > 3, f"no marked pixels in the {role} overlay: {found}"
    worst = max(abs(v) for v in found["offsets"])
    assert worst <= 1.0, f"vectors and the {role} overlay are {worst:.2f} overlay pixels apart: {found}"


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))


def test_flood_conversation_lines_up_answers_first_and_queues_a_follow_up(base_url, browser_page):
    page, external = browser_page
    _open(page, base_url)
    _send(page, "Flood extent near Orihuela in September 2019?")
    page.locator("#chat").get_by_text("Mapping water", exact=False).first.wait_for(state="visible")
    _send(page, "Now show me the polygons")  # typed while the turn runs: queued, not dropped
    page.locator("#queue").get_by_text("show me the polygons", exact=False).wait_for(state="visible")
    page.locator("#chat").get_by_text("Flooded area near Orihuela", exact=False).first.wait_for(state="visible")
    assert page.locator("#guidance").get_by_text("No imagery yet").count() == 0  # the catalog has imagery
    frame = page.frame_locator("#map-panel iframe")
    _assert_aligned(frame)
    assert frame.locator(".gv-legend").get_by_text("water", exact=False).count() >= 1  # legend is a map control

    # The queued follow-up is answered next; it brings no new evidence, so the map keeps the flood results.
    page.locator("#chat").get_by_text(POLYGONS_TEXT, exact=False).first.wait_for(state="visible")
    _assert_in_view(page, POLYGONS_TEXT)
    frame = page.frame_locator("#map-panel iframe")
    assert frame.locator("img.leaflet-image-layer").count() >= 2 and frame.locator("path.leaflet-interactive").count()
    assert page.locator("#queue").get_by_text("Queued").count() == 0  # the queue emptied
    steps = page.locator("#chat").get_by_text("✓ Mapping water", exact=False)
    assert steps.count() >= 1 and page.locator("#chat").get_by_text("item_id=").count() == 0  # words, not calls

    link = page.locator('#downloads a[download$=".geojson"]').first
    with page.expect_download() as info:
        link.click()
    collection = json.loads(Path(info.value.path()).read_text())
    assert collection["type"] == "FeatureCollection" and collection["features"][0]["geometry"]["type"] == "Polygon"
    assert page.locator('#downloads a[download^="geovigie-report"]').count() == 2  # Markdown + HTML
    name = page.locator("#downloads td.filename").first
    assert name.get_attribute("title") == name.get_attribute("aria-label")  # the full name on hover
    assert name.evaluate("td => [...td.querySelectorAll('span')].every(s => s.scrollWidth <= s.clientWidth + 1)")
    page.locator("#chat [data-testid=user]").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    _shot(page, "screenshot-flood.png")
    assert external == [], f"the page tried to reach the internet: {external[:5]}"


def test_answer_first_sentence_is_in_view_after_the_turn(base_url, browser_page):
    page, _ = browser_page
    _open(page, base_url)
    _ask(page, "Flood extent near Orihuela in September 2019?", "Flooded area near Orihuela")
    _assert_in_view(page, "Flooded area near Orihuela")
    _ask(page, "Flood extent near Orihuela again?", "Flooded area near Orihuela")  # a second turn, lower down
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=user]').length == 2")
    page.locator("#chat").get_by_text("Flooded area near Orihuela", exact=False).nth(1).wait_for(state="visible")
    _wait_in_view(page.locator("#chat [data-testid=user]").last, "the latest question")
    answer = page.locator("#chat").get_by_text("Flooded area near Orihuela", exact=False).last
    _wait_in_view(answer, "the second answer (right under its question)")


def test_counting_conversations_trees_on_the_map_ships_in_pixels(base_url, browser_page):
    page, external = browser_page
    _open(page, base_url)
    _ask(page, "Count the trees in orchard.tif", "I count 3 trees")
    _assert_in_view(page, "I count 3 trees")
    frame = page.frame_locator("#map-panel iframe")
    _assert_aligned(frame, role="boxes", rgb=BOX_RGB)
    assert frame.locator(".gv-legend").get_by_text("3 trees").count() == 1
    _shot(page, "screenshot-count.png")

    page.locator("#examples").get_by_text("How many ships are in P0706.png?").click()
    page.locator("#chat").get_by_text("I count 3 ships", exact=False).first.wait_for(state="visible")
    frame = page.frame_locator("#map-panel iframe")
    frame.get_by_text("pixel coordinates", exact=False).wait_for()  # said plainly: not on the map
    frame.locator("img.pixels").wait_for(state="visible")

    _ask(page, "x" * 4100, "characters long")  # a typed error becomes a sentence, never a traceback
    assert page.locator("#chat").get_by_text("Traceback").count() == 0
    page.locator("#new-thread").click()
    page.locator("#chat").get_by_text("I count 3 ships").wait_for(state="detached")
    page.locator("#threads input").click()
    page.get_by_role("option", name="Count the trees in orchard.tif", exact=False).first.click()
    page.locator("#chat").get_by_text("I count 3 ships", exact=False).first.wait_for(state="visible")
    assert external == [], f"the page tried to reach the internet: {external[:5]}"


def test_change_conversation_toggles_dates_over_aligned_results(base_url, browser_page):
    page, _ = browser_page
    _open(page, base_url)
    _ask(page, "What changed near Orihuela between August and September 2019?", "New water near Orihuela")
    _assert_in_view(page, "New water near Orihuela")
    frame = page.frame_locator("#map-panel iframe")
    _assert_aligned(frame, rgb=GAIN_RGB)
    assert frame.locator(".gv-legend").get_by_text("new water").count() == 1
    shown = "() => window.geovigie.images.filter(i => window.geovigie.map.hasLayer(i.layer)).map(i => i.role)"
    assert sorted(frame.locator("#map").evaluate(shown)) == ["after", "overlay"]
    frame.locator(".gv-pair button[data-show=before]").click()
    assert sorted(frame.locator("#map").evaluate(shown)) == ["before", "overlay"]
    _assert_aligned(frame, rgb=GAIN_RGB)  # still on the results, whichever date is under them
    frame.locator(".gv-opacity input").fill("30")
    opacity = "() => window.geovigie.images.find(i => i.role === 'overlay').layer.options.opacity"
    assert frame.locator("#map").evaluate(opacity) == pytest.approx(0.3)
    _shot(page, "screenshot-change.png")


def test_stop_cancels_the_turn_and_the_chat_goes_on(base_url, browser_page):
    page, _ = browser_page
    _open(page, base_url)
    _send(page, "Flood extent near Orihuela in September 2019?")
    page.locator("#chat").get_by_text("Mapping water", exact=False).first.wait_for(state="visible")
    page.locator("#stop").click()  # during the (2 s) water step: the turn stops when the step ends
    page.locator("#chat").get_by_text("⏹ Stopped.", exact=False).wait_for()
    assert page.locator("#chat").get_by_text("Flooded area near Orihuela").count() == 0  # no answer after Stop
    _ask(page, "How many ships are in P0706.png?", "I count 3 ships")  # the session and thread are free again


def test_bare_clone_first_screen_guides_and_fits_a_phone(serve, empty_ui_service, browser_page):
    page, external = browser_page
    url = serve(empty_ui_service)
    _open(page, url)
    guidance = page.locator("#guidance")
    guidance.get_by_text("No imagery yet", exact=False).wait_for(state="visible")
    for way in ("Upload a GeoTIFF", "GEOVIGIE_STAC_API_URLS", "geovigie ingest --samples"):
        assert guidance.get_by_text(way, exact=False).count() == 1, way
    examples = page.locator("#examples button").first
    assert examples.evaluate(IN_VIEW_JS), "the example questions start below the fold at 1440x900"
    _shot(page, "screenshot-first-run.png")

    page.set_viewport_size({"width": 400, "height": 800})
    _open(page, url)
    assert page.evaluate("window.scrollY") == 0  # opens at the top
    assert page.locator("#chat-input textarea").evaluate(IN_VIEW_JS), "the input is not reachable at 400 px"
    guidance.get_by_text("No imagery yet", exact=False).wait_for(state="visible")
    _shot(page, "screenshot-phone.png")
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
        assert shot.size == (1440, 900)  # the first screen a person sees
