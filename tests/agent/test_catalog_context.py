"""The LLM's system prompt names what the local catalog holds."""

import numpy as np

from geovigie.agent import catalog_context
from geovigie.agent.catalog_context import catalog_summary


def test_catalog_summary_lists_collections_dates_and_ids(ctx, make_geotiff, register):
    assert catalog_summary(None) == ""
    data = np.random.default_rng(0).integers(100, 3000, size=(3, 16, 16), dtype=np.uint16)
    register(ctx, make_geotiff(data, name="cc.tif"), item_id="cc-scene",
             bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])  # fmt: skip
    catalog_context._CACHE.clear()
    text = catalog_summary(ctx)
    assert "cc-scene" in text and "item(s)" in text and text.startswith("Local catalog")
