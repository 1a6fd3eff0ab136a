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

from dataclasses import dataclass
from typing import Any

from geovigie.core.domain import BBox, SceneRef
from geovigie.core.errors import ToolInputError

SENTINEL2_BANDS: dict[str, tuple[str, float]] = {
    "B01": ("coastal", 60.0),
    "B02": ("blue", 10.0),
    "B03": ("green", 10.0),
    "B04": ("red", 10.0),
    "B05": ("rededge1", 20.0),
    "B06": ("rededge2", 20.0),
    "B07": ("rededge3", 20.0),
    "B08": ("nir", 10.0),
    "B8A": ("nir08", 20.0),
    "B09": ("nir09", 60.0),
    "B10": ("cirrus", 60.0),
    "B11": ("swir16", 20.0),
    "B12": ("swir22", 20.0),
}
"""Sentinel-2 band id -> (GeoVigie common name, native GSD in metres)."""

_ALIASES: dict[str, str] = {
    "b1": "B01", "b2": "B02", "b3": "B03", "b4": "B04", "b5": "B05", "b6": "B06", "b7": "B07",
    "b8": "B08", "b9": "B09", "b8a": "B8A", "b10": "B10", "b11": "B11", "b12": "B12",
    "swir1": "swir16", "swir2": "swir22", "rededge": "rededge1", "panchromatic": "pan",
}  # fmt: skip


def normalise_band_name(name: str) -> str:
    """Map user/band-file spellings (b4, B4, B04, swir1…) to one canonical key."""
    key = name.strip()
    low = key.lower()
    if low in _ALIASES:
        return _ALIASES[low]
    if low.upper() in SENTINEL2_BANDS:
        return low.upper()
    return low


def _common_of(band: BandRef) -> str | None:
    if band.common_name:
        return normalise_band_name(band.common_name)
    if band.name in SENTINEL2_BANDS:
        return SENTINEL2_BANDS[band.name][0]
    return None


@dataclass(frozen=True)
class BandRef:
    """Where one band lives: the asset file and the 1-based band index inside it."""

    name: str
    common_name: str | None
    href: str
    index: int
    gsd: float | None


@dataclass(frozen=True)
class Scene:
    """A STAC item (as a dict) with band lookup helpers."""

    item: dict[str, Any]

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

    @property
    def gsd(self) -> float | None:
        """Ground sample distance in metres, when known."""
        value = self.properties.get("gsd", self.properties.get("geovigie:pixel_size_m"))
        return float(value) if value is not None else None

    @property
    def cloud_cover(self) -> float | None:
        """Scene cloud cover in percent, when known."""
        value = self.properties.get("eo:cloud_cover")
        return float(value) if value is not None else None

    @property
    def scale(self) -> float | None:
        """Factor from stored values to reflectance, or None when values are not reflectance."""
        value = self.properties.get("geovigie:scale")
        return float(value) if value is not None else None

    @property
    def bbox(self) -> BBox | None:
        """WGS84 footprint bbox, or None for non-georeferenced images."""
        raw = self.item.get("bbox")
        if not raw or not self.georeferenced:
            return None
        return (float(raw[0]), float(raw[1]), float(raw[2]), float(raw[3]))

    def bands(self) -> list[BandRef]:
        """All bands of all data assets, in asset order."""
        out: list[BandRef] = []
        for key, asset in self.item.get("assets", {}).items():
            roles = asset.get("roles") or ["data"]
            if "data" not in roles:
                continue
            entries = asset.get("eo:bands") or asset.get("bands") or [{"name": key}]
            for idx, band in enumerate(entries, start=1):
                out.append(
                    BandRef(
                        name=normalise_band_name(str(band.get("name", key))),
                        common_name=band.get("common_name") or band.get("eo:common_name"),
                        href=str(asset["href"]),
                        index=idx,
                        gsd=asset.get("gsd") or self.gsd,
                    )
                )
        return out

    def band_names(self) -> list[str]:
        """Common names (or names) of the available bands."""
        return [_common_of(b) or b.name for b in self.bands()]

    def find_band(self, wanted: str) -> BandRef | None:
        """Band by common name (red, nir…) or id (B04), or None."""
        key = normalise_band_name(wanted)
        for band in self.bands():
            if key in (band.name, _common_of(band)):
                return band
        return None

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
        """Provenance reference of this scene."""
        first = self.bands()[0].href if self.bands() else None
        return SceneRef(
            item_id=self.id,
            collection=self.collection,
            datetime=self.datetime,
            platform=self.properties.get("platform") or self.properties.get("constellation"),
            gsd_m=self.gsd,
            cloud_cover=self.cloud_cover,
            href=first,
        )
