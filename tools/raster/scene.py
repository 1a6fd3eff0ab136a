"""A catalog scene: a STAC item plus the knowledge needed to read its bands.

Band conventions (STAC ``eo:bands``): every asset lists its bands with a ``name`` and, when known, a
``common_name`` (coastal, blue, green, red, rededge, nir, nir08, nir09, cirrus, swir16, swir22, pan...).
Sentinel-2 band ids (B01…B12, B8A) are accepted as names as well. An asset may hold one band (OSCD,
BigEarthNet: one file per band) or many (a 4-band GeoTIFF).

Extra item properties written by GeoVigie's ingest:

* ``geovigie:georeferenced`` — False for plain PNG/JPEG images (areas then in pixels unless
  ``geovigie:pixel_size_m`` is given).
* ``geovigie:scale`` — factor that turns stored values into reflectance (1e-4 for Sentinel-2 L1C uint16);
  absent when values are not reflectance (e.g. 8-bit RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from geovigie.core.domain import BBox, SceneRef
from geovigie.core.errors import ToolInputError
from geovigie.tools.raster.bands import SENTINEL2_BANDS as SENTINEL2_BANDS
from geovigie.tools.raster.bands import BandRef as BandRef
from geovigie.tools.raster.bands import canonical_of, item_bands
from geovigie.tools.raster.bands import normalise_band_name as normalise_band_name
from geovigie.tools.raster.radiometry import decision_of, metadata_radiometry
from geovigie.tools.raster.vsi import hrefs_read, part_shares, remember


@dataclass(frozen=True)
class Scene:
    """A STAC item (as a dict) with band lookup helpers."""

    item: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @property
    def id(self) -> str:
        """STAC item id."""
        return str(self.item["id"])

    @property
    def collection(self) -> str | None:
        """Collection id."""
        value = self.item.get("collection")
        return str(value) if value else None

    @property
    def properties(self) -> dict[str, Any]:
        """STAC item properties."""
        props: dict[str, Any] = self.item.get("properties", {})
        return props

    @property
    def datetime(self) -> str | None:
        """Acquisition datetime (ISO 8601) or None."""
        value = self.properties.get("datetime")
        return str(value) if value else None

    @property
    def georeferenced(self) -> bool:
        """False for plain images without CRS."""
        return bool(self.properties.get("geovigie:georeferenced", True))

    def _item_gsd(self) -> float | None:
        value = self.properties.get("gsd", self.properties.get("geovigie:pixel_size_m"))
        return float(value) if value is not None else None

    @property
    def gsd(self) -> float | None:
        """Ground sample distance in metres: the item's, else its finest reflectance band's (per-asset metadata)."""
        value = self._item_gsd()
        if value is not None:
            return value
        sizes = [b.gsd for b in self.bands() if b.gsd and not b.is_class]
        return min(sizes) if sizes else None

    @property
    def remote_api(self) -> str | None:
        """The STAC API this item came from, or None for a local item."""
        value = self.properties.get("geovigie:source_api")
        return str(value) if value else None

    @property
    def self_link(self) -> str | None:
        """The item's ``self`` link on its STAC API (kept for provenance), when known."""
        value = self.properties.get("geovigie:self_link")
        if value:
            return str(value)
        for link in self.item.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                return str(link["href"])
        return None

    @property
    def cloud_cover(self) -> float | None:
        """Scene cloud cover in percent, when known."""
        value = self.properties.get("eo:cloud_cover")
        return float(value) if value is not None else None

    @property
    def scale(self) -> float | None:
        """Factor from stored values to reflectance, or None when values are not reflectance.

        Remote items: the first reflectance band's ``raster:bands`` scale or collection knowledge (reads apply
        the full per-band scale and offset; this tells callers that values are reflectance).
        """
        value = self.properties.get("geovigie:scale")
        if value is not None:
            return float(value)
        if self.remote_api:
            band = next((b for b in self.bands() if not b.is_class), None)
            return metadata_radiometry(self.item, band).scale if band is not None else None
        return None

    @property
    def bbox(self) -> BBox | None:
        """WGS84 footprint bbox, or None for non-georeferenced images."""
        raw = self.item.get("bbox")
        if not raw or not self.georeferenced:
            return None
        return (float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))

    def bands(self) -> list[BandRef]:
        """Readable bands of the data assets, one per name, in asset order (see :mod:`.bands`)."""
        cached = self._cache.get("bands")
        if cached is None:
            cached = self._cache["bands"] = item_bands(self.item, self._item_gsd())
            remember(self.item, [b.href for b in cached])
        return list(cached)

    def band_names(self) -> list[str]:
        """Common names (or names) of the available measurement bands, each once.

        Class maps (SCL, QA_PIXEL) are not listed: they are no spectral band (a generic change over "all bands"
        must not difference class codes); :meth:`find_band` still finds them by name.
        """
        return list(dict.fromkeys(canonical_of(b) or b.name for b in self.bands() if not b.is_class))

    def find_band(self, wanted: str) -> BandRef | None:
        """Band by common name (red, nir…) or id (B04), or None."""
        key = normalise_band_name(wanted)
        bands = self.bands()
        for band in bands:
            if key in (band.name, canonical_of(band)):
                return band
        if key in SENTINEL2_BANDS and self._is_sentinel2():
            # Earth Search names Sentinel-2 bands by common name only (``nir08`` for B8A).
            common = SENTINEL2_BANDS[key][0]
            return next((b for b in bands if canonical_of(b) == common), None)
        if key == "nir" and not self._is_sentinel2():
            # Landsat 8/9 OLI has one NIR band (0.85-0.88 um) that STAC catalogs call ``nir08`` only: it is the
            # item's NIR (on Sentinel-2, B8A never stands in for a missing B08).
            return next((b for b in bands if canonical_of(b) == "nir08"), None)
        return None

    def _is_sentinel2(self) -> bool:
        platform = str(self.properties.get("platform") or self.properties.get("constellation") or "").lower()
        return "sentinel-2" in (self.collection or "").lower() or platform.replace(" ", "-").startswith("sentinel-2")

    def has_bands(self, *wanted: str) -> bool:
        """True if every band named is available."""
        return all(self.find_band(w) is not None for w in wanted)

    def require_band(self, wanted: str) -> BandRef:
        """Band by name.

        Raises:
            ToolInputError: naming the bands that exist.
        """
        band = self.find_band(wanted)
        if band is None:
            raise ToolInputError(
                f"Scene {self.id} has no {wanted!r} band (it has: {', '.join(self.band_names())}).",
                hint="Use a method that needs only the available bands, or choose another scene.",
            )
        return band

    def to_ref(self) -> SceneRef:
        """Provenance reference of this scene: the STAC ``self`` link for remote items, else the first band file."""
        bands = self.bands()
        first = bands[0].href if bands else None
        parts = [str(p.get("id")) for p in self.properties.get("geovigie:parts") or [] if isinstance(p, dict)]
        ids = parts or [self.id]
        read = sorted({h for i in ids for h in hrefs_read(i)}) if self.remote_api else []
        links = [str(x) for x in self.properties.get("geovigie:mosaic_of") or []]
        return SceneRef(
            item_id=self.id,
            collection=self.collection,
            datetime=self.datetime,
            platform=self.properties.get("platform") or self.properties.get("constellation"),
            gsd_m=self.gsd,
            cloud_cover=self.cloud_cover,
            href=" + ".join(links) if links else self.self_link or first,
            assets_read=read,
            radiometry=sorted({d for i in ids for d in decision_of(i)}) if self.remote_api else [],
            masks=sorted({b.asset for b in bands if b.is_class and _read_file(b.href, read)}),
            mosaic_shares=part_shares(self.id) if parts else {},
        )


def _read_file(href: str, read: list[str]) -> bool:
    """True when a file of the same name as ``href`` was read (mosaic parts have their own hrefs)."""
    name = href.rsplit("/", 1)[-1]
    return any(h.rsplit("/", 1)[-1] == name for h in read)
