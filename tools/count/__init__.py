"""Counting objects: the ``count_objects`` tool, the detector registry and the detectors.

Counting objects: the ``count_objects`` tool, the detector registry and the detectors (trees, ships,
vehicles, buildings, storage tanks, regions), pixel-size rules and outputs.

Shared detector types and helpers live in ``detection``, so the registry (``detectors``) and the detectors import
them without a cycle. May import ``geovigie.core``, the tool framework, ``geovigie.tools.raster``,
``geovigie.tools.catalog`` and
``geovigie.tools.segment.tool``.
"""

from geovigie.tools.count.detectors import CLASS_SPECS
from geovigie.tools.count.tool import count_objects

__all__ = ["CLASS_SPECS", "count_objects"]
