"""Examples as places: a point, a box or a polygon in lon/lat, as a pixel mask of a grid.

An example is what the user points at ("this quarry", "these fields"). Points become the one pixel they fall in;
boxes and polygons every pixel whose centre is inside (at least the pixel under their centroid, so a polygon
smaller than a pixel still counts).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from pydantic import BaseModel, Field, model_validator
from pyproj import Transformer
from rasterio.features import rasterize
from shapely.geometry import box, mapping, shape
from shapely.geometry.base import BaseGeometry

from geovigie.core.domain import BBox
from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import Grid


class Place(BaseModel):
    """One example place: exactly one of ``point``, ``box`` or ``polygon`` (EPSG:4326)."""

    point: tuple[float, float] | None = Field(default=None, description="[lon, lat] of one pixel.")
    box: BBox | None = Field(default=None, description="[west, south, east, north].")
    polygon: dict[str, Any] | None = Field(default=None, description="A GeoJSON Polygon or MultiPolygon geometry.")

    @model_validator(mode="after")
    def _one(self) -> Place:
        given = [k for k in ("point", "box", "polygon") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of point, box or polygon (got {', '.join(given) or 'none'})")
        return self

    def geometry(self) -> BaseGeometry:
        """The place as a shapely geometry in lon/lat.

        Raises:
            ToolInputError: a polygon that is not valid GeoJSON, or coordinates outside lon/lat ranges.
        """
        if self.point is not None:
            lon, lat = self.point
            geom: BaseGeometry = shape({"type": "Point", "coordinates": [lon, lat]})
        elif self.box is not None:
            w, s, e, n = self.box
            if not (w < e and s < n):
                raise ToolInputError(f"Example box {list(self.box)} is empty.", hint="Use [west, south, east, north].")
            geom = box(w, s, e, n)
        else:
            try:
                geom = shape(self.polygon or {})
            except Exception as exc:  # shapely raises several untyped errors on bad GeoJSON
                raise ToolInputError(
                    f"The example polygon is not a valid GeoJSON geometry: {exc}",
                    hint='Give {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}.',
                ) from exc
            if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
                raise ToolInputError(
                    f"The example polygon is a {geom.geom_type}, not a polygon.", hint="Give a Polygon geometry."
                )
        w, s, e, n = geom.bounds
        if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
            raise ToolInputError(
                f"Example coordinates {geom.bounds} are not lon/lat degrees.", hint="Give [lon, lat] in EPSG:4326."
            )
        return geom

    def padded_bounds(self, pad_deg: float = 0.0) -> BBox:
        """The place's lon/lat bounds, padded."""
        w, s, e, n = self.geometry().bounds
        return (w - pad_deg, s - pad_deg, e + pad_deg, n + pad_deg)


def mask_of(place: Place, grid: Grid) -> np.ndarray:
    """(H, W) bool mask of the pixels of ``grid`` the place covers.

    Raises:
        ToolInputError: the grid is not georeferenced, or the place lies outside it.
    """
    if grid.crs is None:
        raise ToolInputError(
            "Examples are given in lon/lat, but this image is not georeferenced.",
            hint="Use a georeferenced scene (a Sentinel-2 item from search_imagery).",
        )
    to_grid = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform
    geom = shapely.transform(place.geometry(), lambda xy: np.column_stack(to_grid(xy[:, 0], xy[:, 1])))
    h, w = grid.shape
    out = np.zeros((h, w), bool)
    if geom.geom_type != "Point":
        out = rasterize([mapping(geom)], out_shape=(h, w), transform=grid.transform, fill=0, default_value=1) > 0
    col, row = ~grid.transform * (geom.centroid.x, geom.centroid.y)
    r, c = int(np.floor(row)), int(np.floor(col))
    if 0 <= r < h and 0 <= c < w and (geom.geom_type == "Point" or geom.contains(geom.centroid)):
        out[r, c] = True
    if not out.any():
        raise ToolInputError(
            f"The example at {[round(v, 5) for v in place.geometry().bounds]} is outside the area searched.",
            hint="Put the example inside the scene (and the AOI, when one is given).",
        )
    return out
