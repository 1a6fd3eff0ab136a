"""GeoVigie's tool layer. ``TOOLS`` is the one registry of the tools the planner may call."""

from typing import Any

from tools.ask_image import ask_image
from tools.base import GeoTool
from tools.change import detect_change
from tools.count import count_objects
from tools.geocode import geocode
from tools.quicklook import quicklook
from tools.search import search_imagery
from tools.segment import segment

_ALL: list[GeoTool[Any]] = [geocode, search_imagery, quicklook, segment, detect_change, count_objects, ask_image]
TOOLS: dict[str, GeoTool[Any]] = {t.name: t for t in _ALL}

__all__ = ["TOOLS", "ask_image", "count_objects", "detect_change", "geocode", "quicklook", "search_imagery", "segment"]
