"""Spectral indices: definitions, required bands, and computation on a :class:`RasterData`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.errors import ToolInputError
from tools.scene import Scene

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
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a32 - b32) / denom
    out[~np.isfinite(out)] = np.nan
    return out
