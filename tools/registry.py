"""The one registry of the tools the planners may call: ``TOOLS`` maps each tool's name to its ``GeoTool``."""

from typing import Any

from geovigie.tools.base import GeoTool
from geovigie.tools.catalog import search_imagery
from geovigie.tools.change import detect_change
from geovigie.tools.count import count_objects
from geovigie.tools.places import geocode
from geovigie.tools.segment import segment
from geovigie.tools.vision import ask_image, quicklook

_ALL: list[GeoTool[Any]] = [geocode, search_imagery, quicklook, segment, detect_change, count_objects, ask_image]
TOOLS: dict[str, GeoTool[Any]] = {t.name: t for t in _ALL}

__all__ = ["TOOLS", "ask_image", "count_objects", "detect_change", "geocode", "quicklook", "search_imagery", "segment"]
