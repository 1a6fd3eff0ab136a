"""Data and status panels: what is in the catalog, upload and ingest of GeoTIFFs, which services are active."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from geovigie.core.errors import GeoVigieError
from geovigie.ui import render
from geovigie.ui.basemap import CONTEXT_LABEL, countries_geojson
from geovigie.ui.hooks import ASSETS_URL, ChatHooks, UiOptions, file_url
from geovigie.ui.map import leaflet_document, map_iframe, spec_from_catalog

logger = logging.getLogger(__name__)


class DataController:
    """Handlers of the Data and Status tabs."""

    def __init__(self, hooks: ChatHooks, options: UiOptions) -> None:
        """Bind the handlers to the service hooks and the UI options."""
        self.hooks = hooks
        self.options = options

    def _context_url(self) -> str | None:
        # Offline country outlines under the footprints (the catalog map was dots on grey).
        path = None if self.options.tiles_url else countries_geojson(self.options.work_dir)
        return file_url(path) if path else None

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
            empty_text="No georeferenced item in the catalog yet: upload a GeoTIFF, configure a STAC API "
            "(GEOVIGIE_STAC_API_URLS) or run `geovigie ingest --samples`.",
            context_url=self._context_url(),
            context_label=CONTEXT_LABEL,
        )
        return render.catalog_table(rows), map_iframe(document, height_px=420, title="Catalog footprints")

    def ingest(self, files: list[Any] | None, pixel_size_m: float | None = None) -> tuple[str, list[list[Any]], str]:
        """Ingest uploaded rasters into the local catalog and refresh the table and map.

        Args:
            files: Gradio's uploaded files.
            pixel_size_m: Ground pixel size (m) for plain images without georeferencing; None or 0: unknown.
        """
        paths = [Path(f if isinstance(f, str) else getattr(f, "name", str(f))) for f in files or []]
        hint = float(pixel_size_m) if pixel_size_m and pixel_size_m > 0 else None
        if not paths:
            message = "Choose one or more GeoTIFF files first."
        else:
            try:
                message = render.ingest_markdown(self.hooks.ingest(paths, hint))
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
