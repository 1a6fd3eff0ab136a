r"""Screenshots of a running GeoVigie chat (for the README): ask questions in headless Chromium, save PNGs.

Run the app first (``geovigie chat``), then::

    python -m geovigie.ui.screenshots --url http://127.0.0.1:8080 \
        "Flood extent near Almoradí (Vega Baja, Spain) in September 2019?=docs/screenshot-flood.png" \
        "How many ships are in P0706.png?=docs/screenshot-count.png"
    python -m geovigie.ui.screenshots --size 400x860 "Compte les arbres dans OSBS_029.tif=docs/screenshot-phone.png"

Needs the ``playwright`` package and a system Chromium (no browser download). It only drives a browser, so it
works against any running instance, and the UI package still never imports the server.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
# A turn is over when its reports are downloadable, or when an error sentence was posted.
TURN_DONE_JS = """() => document.querySelectorAll('#downloads a[download^="geovigie-report"]').length >= 2
  || [...document.querySelectorAll('#chat .message')].some(m => m.innerText.trim().startsWith('⚠'))"""


def capture(
    url: str,
    shots: list[tuple[str, Path]],
    *,
    chromium: str = "/usr/bin/chromium",
    timeout_s: float = 300.0,
    size: tuple[int, int] = (1440, 900),
    full_page: bool = False,
) -> list[Path]:
    """Ask each question in a fresh conversation and save a full-page screenshot once the answer is complete.

    Args:
        url: Base URL of the running chat.
        shots: (question, output PNG path) pairs.
        chromium: Chromium executable.
        timeout_s: Longest wait for one answer.
        size: Browser viewport (width, height).
        full_page: Capture the whole page rather than what a person sees in the window.
    """
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        page.set_default_timeout(timeout_s * 1000)
        for question, out in shots:
            # Never wait for "networkidle": Gradio keeps its event stream open.
            page.goto(url.rstrip("/") + "/", wait_until="load")
            page.wait_for_selector("#chat-input textarea")
            page.locator("#chat-input textarea").fill(question)
            page.locator("#chat-input textarea").press("Enter")
            page.wait_for_function(TURN_DONE_JS, timeout=timeout_s * 1000)
            page.wait_for_timeout(2000)  # let the map iframe draw its layers (the chat scrolls to the answer itself)
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full_page)
            logger.info("saved %s", out)
            saved.append(out)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m geovigie.ui.screenshots --url URL "question=out.png" ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for one answer")
    parser.add_argument("--size", default="1440x900", help="viewport WIDTHxHEIGHT (e.g. 400x860 for a phone)")
    parser.add_argument("--full-page", action="store_true", help="capture the whole page, not the first screen")
    parser.add_argument("shots", nargs="+", help='"question=path/to/screenshot.png"')
    args = parser.parse_args(argv)
    pairs = []
    for spec in args.shots:
        question, _, out = spec.rpartition("=")
        if not question or not out.endswith(".png"):
            parser.error(f"expected 'question=file.png', got {spec!r}")
        pairs.append((question, Path(out)))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    width, _, height = args.size.partition("x")
    size = (int(width), int(height))
    capture(args.url, pairs, chromium=args.chromium, timeout_s=args.timeout, size=size, full_page=args.full_page)


if __name__ == "__main__":
    main()
