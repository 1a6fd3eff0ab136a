"""Looking at images: quicklooks, ``ask_image`` and the offline measurement interpreter.

Looking at images: quicklooks, the ``ask_image`` tool (a vision-language model over rendered images) and
the offline measurement interpreter that answers from measured figures when no model is configured.

May import ``geovigie.core``, the tool framework, ``geovigie.tools.raster``, ``geovigie.tools.catalog`` and
``geovigie.tools.segment.tool``.
"""

from geovigie.tools.vision.ask import ask_image
from geovigie.tools.vision.quicklook import quicklook

__all__ = ["ask_image", "quicklook"]
