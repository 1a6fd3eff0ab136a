"""First-run guidance: what to do when the catalog is empty (shown above the chat, and only then)."""

from __future__ import annotations

import logging

from geovigie.ui.hooks import ChatHooks

logger = logging.getLogger(__name__)

EMPTY_CATALOG = (
    "**No imagery yet.** The chat runs, but there is nothing to measure until the catalog has images. "
    "Three ways to get some:\n"
    "1. **Upload a GeoTIFF** in the *Data* tab (PNG/JPEG work too; they are measured in pixels unless you give "
    "a pixel size).\n"
    "2. **Point at a STAC API**: set `GEOVIGIE_STAC_API_URLS` (e.g. a Sentinel-2 STAC search endpoint) and "
    "restart.\n"
    "3. **Get the samples**: set `GEOVIGIE_DATA_DIR` to the sample folder, then run `geovigie ingest --samples`."
)
"""Shown above the chat while the local catalog is empty."""


def guidance_markdown(hooks: ChatHooks) -> str:
    """The first-run guidance when the local catalog is empty, else nothing."""
    try:
        empty = not hooks.catalog()
    except Exception:  # guidance is a convenience: never break the page for it
        logger.exception("reading the catalog for the guidance failed")
        return ""
    return EMPTY_CATALOG if empty else ""
