"""The one registry of the tools the planners may call: ``TOOLS`` maps each tool's name to its ``GeoTool``."""

from typing import Any

from geovigie.tools.base import GeoTool
from geovigie.tools.catalog import search_imagery
from geovigie.tools.change import detect_change
from geovigie.tools.count import count_objects
from geovigie.tools.embed import find_similar, map_from_examples
from geovigie.tools.places import geocode
from geovigie.tools.segment import segment
from geovigie.tools.vision import ask_image, quicklook

_ALL: list[GeoTool[Any]] = [
    geocode, search_imagery, quicklook, segment, detect_change, count_objects, ask_image, find_similar,
    map_from_examples,
]  # fmt: skip
TOOLS: dict[str, GeoTool[Any]] = {t.name: t for t in _ALL}

__all__ = [
    "TOOLS", "ask_image", "count_objects", "detect_change", "find_similar", "geocode", "map_from_examples",
    "quicklook", "search_imagery", "segment",
]  # fmt: skip
