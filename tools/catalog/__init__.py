"""The imagery catalog: ingest, the local store of STAC items, search and ranking, remote STAC APIs.

The imagery catalog: ingest of local rasters, the SQLAlchemy-backed store of STAC items, search and ranking,
and remote STAC APIs.

Owns what an item *is* in GeoVigie (ids, assets, dates, footprints) and how items are found. May import
``geovigie.core``, the tool framework (``geovigie.tools.base``) and ``geovigie.tools.raster``; never the analysis rooms.
"""

from geovigie.tools.catalog.ingest import IngestReport, ingest_paths
from geovigie.tools.catalog.search import search_imagery
from geovigie.tools.catalog.store import all_scenes, get_scene, upsert_item

__all__ = ["IngestReport", "all_scenes", "get_scene", "ingest_paths", "search_imagery", "upsert_item"]
