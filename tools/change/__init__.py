"""Change between dates, and the ``detect_change`` tool.

Change between dates: index differencing and change-vector analysis, presets (flood, burn, deforestation,
urban, generic), pairs and multi-date series, scoring, change artifacts, and the ``detect_change`` tool.

May import ``geovigie.core``, the tool framework, ``geovigie.tools.raster``, ``geovigie.tools.catalog`` and
``geovigie.tools.segment.tool``.
"""

from geovigie.tools.change.pair import run_pair
from geovigie.tools.change.presets import Preset, plan_change
from geovigie.tools.change.tool import detect_change

__all__ = ["Preset", "detect_change", "plan_change", "run_pair"]
