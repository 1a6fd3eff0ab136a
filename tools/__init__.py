"""GeoVigie's tool layer. ``TOOLS`` is the one registry of the tools the planner may call."""

from typing import Any

from tools.base import GeoTool
from tools.geocode import geocode
from tools.quicklook import quicklook
from tools.search import search_imagery

_ALL: list[GeoTool[Any]] = [geocode, search_imagery, quicklook]
TOOLS: dict[str, GeoTool[Any]] = {t.name: t for t in _ALL}

__all__ = ["TOOLS", "geocode", "quicklook", "search_imagery"]
