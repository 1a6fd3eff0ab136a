"""The offline basemap's light context: country outlines from a package that is already installed.

The map must work without internet, so it cannot fetch tiles by default. geopandas 1.x no longer ships the
Natural Earth datasets, but pyogrio (geopandas' file reader, a dependency of the default install) ships
Natural Earth's 1:110m countries (public domain) among its test fixtures. They are converted once to GeoJSON
in the UI's work folder and drawn under the imagery: coarse (kilometres off at city scale), so never over it.
When the file is missing (another pyogrio build), the map simply has no outlines.
"""

from __future__ import annotations

import json
import logging
from importlib.util import find_spec
from pathlib import Path

logger = logging.getLogger(__name__)

CONTEXT_LABEL = "Country outlines: Natural Earth 1:110m (approximate)"
"""How the outlines are named on the map and in the Status tab."""
_FIXTURE = Path("tests") / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"


def natural_earth_source() -> Path | None:
    """The Natural Earth 1:110m countries shapefile installed with pyogrio, or None."""
    spec = find_spec("pyogrio")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / _FIXTURE
    return path if path.is_file() else None


def _rounded(node: object) -> object:
    # Three decimals (about 100 m) is far finer than 1:110m data: a third of the file size.
    if isinstance(node, float):
        return round(node, 3)
    if isinstance(node, list | tuple):
        return [_rounded(n) for n in node]
    return node


def countries_geojson(folder: Path) -> Path | None:
    """Write (once) and return the countries GeoJSON in ``folder``; None when no source is installed."""
    target = folder / "basemap" / "countries-110m.geojson"
    if target.is_file():
        return target
    source = natural_earth_source()
    if source is None:
        logger.info("no Natural Earth countries installed: the offline map has no outlines")
        return None
    try:
        import pyogrio  # type: ignore[import-untyped]
        from shapely.geometry import mapping

        frame = pyogrio.read_dataframe(source, columns=["name"])
        features = [
            {"type": "Feature", "properties": {"name": str(name)}, "geometry": _rounded(mapping(geom))}
            for name, geom in zip(frame["name"], frame.geometry, strict=True)
            if geom is not None
        ]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_text(json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")))
        tmp.replace(target)
    except Exception:  # a basemap is a nicety: never break the map for it
        logger.exception("could not convert the Natural Earth countries")
        return None
    return target
