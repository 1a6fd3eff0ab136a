"""Natural features of the offline gazetteer: lakes, rivers, bays and deltas, mountains and forests.

No package on the registries ships *named* natural features with extents (Natural Earth's lakes come without their
attribute table in the wheels that carry them, GeoNames' feature dump is not packaged), so GeoVigie bundles a small
hand-curated table, ``natural_features.txt``: about 170 features that risk questions name (French water bodies,
the great lakes and rivers of the world, coastal bays and deltas, volcanoes and mountain ranges, large forests),
each with its English, French and local names and an approximate box. The boxes are coarse by design (a river's is
its whole course) and every answer built on one says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from geovigie.core.domain import BBox

FeatureKind = Literal["lake", "river", "bay", "mountain", "forest"]
FEATURE_KINDS: tuple[FeatureKind, ...] = ("lake", "river", "bay", "mountain", "forest")

GENERIC_WORDS: dict[FeatureKind, tuple[str, ...]] = {
    "lake": ("lake", "lac", "lago", "loch", "lough", "etang", "reservoir", "lagoon", "lagune", "sea", "mer"),
    "river": ("river", "riviere", "fleuve", "rio"),
    "bay": ("bay", "baie", "gulf", "golfe", "bassin", "delta", "rade"),
    "mountain": ("mount", "mont", "mountains", "massif", "volcano", "volcan", "monte", "pico", "piton"),
    "forest": ("forest", "foret", "bois"),
}
"""Words that, in a question, say which kind of feature is meant ("la Loire" the river, not the department)."""


@dataclass(frozen=True, slots=True)
class Feature:
    """One natural feature: its names (display name first), kind, main country and approximate box."""

    names: tuple[str, ...]
    kind: FeatureKind
    country_code: str
    bbox: BBox

    @property
    def name(self) -> str:
        """The display name (English)."""
        return self.names[0]

    @property
    def centre(self) -> tuple[float, float]:
        """(lat, lon) of the box centre."""
        return (self.bbox[1] + self.bbox[3]) / 2, (self.bbox[0] + self.bbox[2]) / 2


def parse_features(text: str) -> list[Feature]:
    """Parse the bundled table (``kind|country|west,south,east,north|name;name;...``, ``#`` comments).

    Raises:
        ValueError: a malformed line (the table is package data: a bad line is a packaging bug).
    """
    out: list[Feature] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            kind, country, box, names = line.split("|")
            w, s, e, north = (float(v) for v in box.split(","))
        except ValueError as exc:
            raise ValueError(f"natural_features.txt line {n}: {line!r}") from exc
        if kind not in FEATURE_KINDS or not (w < e and s < north):
            raise ValueError(f"natural_features.txt line {n}: bad kind or box in {line!r}")
        out.append(Feature(tuple(x.strip() for x in names.split(";") if x.strip()), kind, country, (w, s, e, north)))  # type: ignore[arg-type]
    return out


@lru_cache(maxsize=1)
def natural_features() -> tuple[Feature, ...]:
    """The bundled natural features (read once per process)."""
    text = resources.files("geovigie.tools.places").joinpath("natural_features.txt").read_text(encoding="utf-8")
    return tuple(parse_features(text))
