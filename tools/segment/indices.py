"""Spectral indices: definitions, required bands, band lookup and (cached) computation on a :class:`RasterData`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import BandRef, RasterData, Scene

IndexName = Literal["ndvi", "ndwi", "mndwi", "nbr", "ndbi"]


@dataclass(frozen=True)
class IndexSpec:
    """A normalised difference index (a - b) / (a + b)."""

    name: IndexName
    a: str
    b: str
    meaning: str


INDICES: dict[str, IndexSpec] = {
    "ndvi": IndexSpec("ndvi", "nir", "red", "vegetation vigour (Rouse 1974)"),
    "ndwi": IndexSpec("ndwi", "green", "nir", "open water, McFeeters 1996"),
    "mndwi": IndexSpec("mndwi", "green", "swir16", "open water incl. urban shadows removed, Xu 2006"),
    "nbr": IndexSpec("nbr", "nir", "swir22", "burn severity (Key & Benson 2006)"),
    "ndbi": IndexSpec("ndbi", "swir16", "nir", "built-up / bare soil, Zha 2003"),
}


def index_bands(name: str) -> tuple[str, str]:
    """Bands an index needs.

    Raises:
        ToolInputError: unknown index.
    """
    spec = INDICES.get(name.lower())
    if spec is None:
        raise ToolInputError(f"Unknown index {name!r}.", hint=f"Use one of: {', '.join(INDICES)}.")
    return spec.a, spec.b


def available_indices(scene: Scene) -> list[str]:
    """Indices computable from the scene's bands."""
    return [name for name, spec in INDICES.items() if scene.has_bands(spec.a, spec.b)]


def normalised_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b) as float32, NaN where undefined."""
    a32 = a.astype(np.float32, copy=False)
    b32 = b.astype(np.float32, copy=False)
    denom = a32 + b32
    out = np.subtract(a32, b32)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(out, denom, out=out)
    # NaN stays NaN; only +-inf (x / 0) must become NaN. In place: no boolean index of the whole array.
    np.copyto(out, np.float32(np.nan), where=np.isinf(out))
    return out


def _ref_key(ref: BandRef | None) -> tuple[str, int] | None:
    return (ref.href, ref.index) if ref is not None else None


def merge_bands(scene: Scene, *lists: Sequence[str]) -> list[str]:
    """Union of band lists, dropping names that point at the same file band (``swir16`` and ``B11``)."""
    seen: set[tuple[str, int]] = set()
    out: list[str] = []
    for names in lists:
        for name in names:
            key = _ref_key(scene.find_band(name))
            if key is None or key in seen:
                continue
            seen.add(key)
            out.append(name)
    return out


def has_band(raster: RasterData, wanted: str) -> bool:
    """True when the raster holds the band (under any of its names)."""
    return _band_index(raster, wanted) is not None


def _band_index(raster: RasterData, wanted: str) -> int | None:
    key = (wanted, raster.scene.id, *raster.band_names)
    if key not in raster.lookups:
        raster.lookups[key] = _find_index(raster, wanted)
    return raster.lookups[key]


def _find_index(raster: RasterData, wanted: str) -> int | None:
    target = _ref_key(raster.scene.find_band(wanted))
    if target is None:
        return None
    for i, name in enumerate(raster.band_names):
        if name == wanted or _ref_key(raster.scene.find_band(name)) == target:
            return i
    return None


def band_of(raster: RasterData, wanted: str) -> np.ndarray:
    """A band of a raster by common name or id, whatever name it was read under.

    Raises:
        ToolInputError: the band was not read.
    """
    idx = _band_index(raster, wanted)
    if idx is None:
        raise ToolInputError(
            f"Band {wanted!r} is not among the bands read ({', '.join(raster.band_names)}).",
            hint="Read the bands given by tools.masks.bands_for(target, scene).",
        )
    return raster.data[idx]


def index_of(raster: RasterData, a: str, b: str) -> np.ndarray:
    """Normalised difference of two bands of a raster, computed once per raster (read-only, shared)."""
    return raster.derived(f"nd:{a}:{b}", lambda: normalised_difference(band_of(raster, a), band_of(raster, b)))
