"""GeoVigie's tool layer. ``TOOLS`` is the one registry of the tools the planner may call."""

from tools.base import GeoTool
from tools.geocode import geocode
from tools.quicklook import quicklook

TOOLS: dict[str, GeoTool] = {t.name: t for t in [geocode, quicklook]}  # type: ignore[type-arg]

__all__ = ["TOOLS", "geocode", "quicklook"]
