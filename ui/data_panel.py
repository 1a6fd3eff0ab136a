"""Data and status panels: what is in the catalog, upload and ingest of GeoTIFFs, which services are active."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from geovigie.core.errors import GeoVigieError
from geovigie.ui import render
from geovigie.ui.hooks import ASSETS_URL, ChatHooks, UiOptions, file_url
from geovigie.ui.map import leaflet_document, map_iframe, spec_from_catalog

logger = logging.getLogger(__name__)


class DataController:
    """Handlers of the Data and Status tabs."""

    def __init__(self, hooks: ChatHooks, options: UiOptions) -> None:
        """Bind the handlers to the service hooks and the UI options."""
        self.hooks = hooks
        self.options = options

    def catalog_view(self) -> tuple[list[list[Any]], str]:
        """The catalog table and a map of the georeferenced footprints."""
        rows = self.hooks.catalog()
        spec = spec_from_catalog(rows)
        document = leaflet_document(
            spec,
            assets_url=ASSETS_URL,
            file_url=file_url,
            tiles_url=self.options.tiles_url,
            attribution=self.options.tiles_attribution,
            empty_text="No georeferenced item in the catalog yet: run `geovigie ingest --samples` or upload a GeoTIFF.",
        )
        return render.catalog_table(rows), map_iframe(document, height_px=420, title="Catalog footprints")

    def ingest(self, files: list[Any] | None) -> tuple[str, list[list[Any]], str]:
        """Ingest uploaded rasters into the local catalog and refresh the table and map."""
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", str(f))) for f in files or []]
        if not paths:
            message = "Choose one or more GeoTIFF files first."
        else:
            try:
                message = render.ingest_markdown(self.hooks.ingest(paths))
            except GeoVigieError as exc:
                message = f"⚠ {exc.user_message}"
            except Exception:  # a person sees a sentence, the log gets the traceback
                logger.exception("ingest of uploads failed")
                message = "⚠ The upload could not be ingested (the error has been logged)."
        table, catalog_map = self.catalog_view()
        return message, table, catalog_map

    def status_view(self) -> str:
        """Active planner and image interpreter, catalog size and remote catalogs."""
        try:
            return render.status_markdown({**self.hooks.status(), "tiles_url": self.options.tiles_url})
        except Exception:  # status must render even when the service is unhealthy
            logger.exception("status failed")
            return "⚠ The service status could not be read (see the server log)."
