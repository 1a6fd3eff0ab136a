"""Places: the geocode tool, the offline gazetteer, place phrases and coordinates.

Places: the geocode tool, the offline gazetteer, place phrases in French and English, and coordinates, boxes
and GeoJSON given as text.

Stands alone: it may import ``geovigie.core`` and the tool framework only.
"""

from geovigie.tools.places.extent import bbox_around
from geovigie.tools.places.gazetteer import get_gazetteer
from geovigie.tools.places.geocode import geocode, resolve_place
from geovigie.tools.places.qualifiers import qualifier_countries, settle
from geovigie.tools.places.text import STOPWORDS, find_place_in_text, split_qualifier

__all__ = [
    "STOPWORDS",
    "bbox_around",
    "find_place_in_text",
    "geocode",
    "get_gazetteer",
    "qualifier_countries",
    "resolve_place",
    "settle",
    "split_qualifier",
]
