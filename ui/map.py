"""The evidence map: georeferenced images, result polygons and boxes on a self-hosted Leaflet map.

Offline first: Leaflet is served by the app (``ui/static/leaflet``), the imagery itself is the base layer
over light country outlines (``ui/basemap.py``), and web tiles are added only when a tile URL is configured.
Images are ``L.imageOverlay`` of PNG artifacts that the tools warped onto Web Mercator, with the exact WGS84
bounds of their pixel edges as ``bbox`` (``tools/raster/webmap.py``): placed by those bounds they line up with
the GeoJSON results to the pixel. Legends are map controls built from ``ArtifactRef.legend``, never pixels.
Gradio's ``gr.HTML`` does not run ``<script>`` tags, so the map is a complete
HTML document shown in an ``<iframe srcdoc>`` and drawn by ``ui/static/geovigie-map.js``; when JavaScript or
Leaflet is unavailable it shows a static PNG rendering of the same layers
(:func:`geovigie.ui.static_map.render_static_map`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BBox = tuple[float, float, float, float]

PALETTE = ["#f0e442", "#56b4e9", "#e69f00", "#cc79a7", "#009e73", "#ffffff", "#0072b2", "#d55e00"]
"""Vector colours (Okabe-Ito, yellow and sky blue first): drawn over a dark casing, they stay visible on
true- and false-colour imagery alike (red vanished on false-colour vegetation)."""
ROLE_LABELS = {
    "quicklook": "Image",
    "overlay": "Result",
    "before": "Before",
    "after": "After",
    "polygons": "Polygons",
    "boxes": "Detections",
    "evidence": "Evidence",
}
"""Short layer names by role; the full title (ids, dates, method) shows on hover."""
AOI_COLOR = "#222222"
COMPOSITE_ROLES = {"side_by_side"}
"""Images that are not a picture of the ground at their bbox (e.g. two dates side by side): never on the map."""
MAX_GEOJSON_BYTES = 8_000_000
"""GeoJSON larger than this is not inlined in the page (it stays downloadable)."""


@dataclass(frozen=True)
class ImageLayer:
    """A georeferenced PNG placed on the map by its WGS84 bbox."""

    title: str
    path: str
    bbox: BBox
    role: str = "evidence"
    visible: bool = True
    """Shown when the map opens (else only listed in the layer control)."""
    legend: tuple[tuple[str, str], ...] = ()
    """Colour key (label, ``#rrggbb``), drawn as a map control."""


@dataclass(frozen=True)
class VectorLayer:
    """GeoJSON features (EPSG:4326) drawn with one colour."""

    title: str
    geojson: dict[str, Any]
    color: str
    role: str = "polygons"


@dataclass(frozen=True)
class BoxLayer:
    """A rectangle: an area of interest or a catalog footprint."""

    title: str
    bbox: BBox
    color: str = AOI_COLOR
    dashed: bool = True
    marker: bool = False
    """Also mark the centre, so that footprints stay visible when zoomed out far."""


@dataclass
class MapSpec:
    """Everything drawn on one map, in drawing order (images, then vectors, then boxes)."""

    images: list[ImageLayer] = field(default_factory=list)
    vectors: list[VectorLayer] = field(default_factory=list)
    boxes: list[BoxLayer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        """True when nothing can be placed on the map."""
        return not (self.images or self.vectors or self.boxes)

    def focus(self) -> BBox | None:
        """Extent to open the map on: the results (images and vectors) when any, else every layer."""
        results = [i.bbox for i in self.images]
        results += [b for b in (geojson_bounds(v.geojson) for v in self.vectors) if b is not None]
        if not results:
            return self.bounds()
        return (
            min(b[0] for b in results),
            min(b[1] for b in results),
            max(b[2] for b in results),
            max(b[3] for b in results),
        )

    def bounds(self) -> BBox | None:
        """Union of every layer's extent, or None when empty."""
        boxes = [i.bbox for i in self.images] + [b.bbox for b in self.boxes]
        boxes += [b for b in (geojson_bounds(v.geojson) for v in self.vectors) if b is not None]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _coords(geometry: Mapping[str, Any] | None) -> list[tuple[float, float]]:
    if not geometry:
        return []
    if geometry.get("type") == "GeometryCollection":
        return [c for g in geometry.get("geometries", []) for c in _coords(g)]
    out: list[tuple[float, float]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list | tuple) and len(node) >= 2 and all(isinstance(v, int | float) for v in node[:2]):
            out.append((float(node[0]), float(node[1])))
        elif isinstance(node, list | tuple):
            for child in node:
                walk(child)

    walk(geometry.get("coordinates", []))
    return out


def features(geojson: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The features of a FeatureCollection, Feature or bare geometry."""
    if geojson.get("type") == "FeatureCollection":
        return list(geojson.get("features", []))
    if geojson.get("type") == "Feature":
        return [geojson]
    return [{"type": "Feature", "geometry": geojson, "properties": {}}]


def geojson_bounds(geojson: Mapping[str, Any]) -> BBox | None:
    """(west, south, east, north) of all coordinates of a GeoJSON object, or None when it has none."""
    pts = [p for f in features(geojson) for p in _coords(f.get("geometry"))]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


def is_wgs84(geojson: Mapping[str, Any]) -> bool:
    """True when a GeoJSON object has coordinates and they can be longitudes/latitudes (not pixel coordinates)."""
    declared = geojson.get("crs") or (geojson.get("properties") or {}).get("crs")
    if isinstance(declared, str) and declared.lower() == "pixel":
        return False
    bounds = geojson_bounds(geojson)
    return bounds is not None and -180 <= bounds[0] <= bounds[2] <= 180 and -90 <= bounds[1] <= bounds[3] <= 90


def _bbox(value: Any) -> BBox | None:
    if isinstance(value, list | tuple) and len(value) == 4:
        w, s, e, n = (float(v) for v in value)
        if w < e and s < n:
            return (w, s, e, n)
    return None


def spec_from_artifacts(
    artifacts: Sequence[Mapping[str, Any]],
    *,
    aoi_bboxes: Sequence[Any] = (),
    max_geojson_bytes: int = MAX_GEOJSON_BYTES,
) -> MapSpec:
    """Map layers for a turn's artifacts: PNGs with a bbox, GeoJSON files, and areas of interest.

    Args:
        artifacts: Artifact records (id, kind, title, path, role, bbox) as in ``Answer.artifacts``.
        aoi_bboxes: Areas of interest (WGS84 bboxes) from the provenance, drawn as dashed rectangles.
        max_geojson_bytes: Larger GeoJSON files are not drawn (a note says so; they stay downloadable).
    """
    spec = MapSpec()
    roles = {str(a.get("role")) for a in artifacts if a.get("kind") == "png"}
    for art in artifacts:
        kind, path, title = art.get("kind"), str(art.get("path") or ""), str(art.get("title") or art.get("id"))
        bbox, role = _bbox(art.get("bbox")), str(art.get("role", ""))
        if kind == "png" and bbox is not None and path and role not in COMPOSITE_ROLES:
            # With a before/after pair, open on "after" (under the results); "before" is one click away.
            visible = not (role == "before" and "after" in roles)
            legend = tuple((str(k[0]), str(k[1])) for k in art.get("legend") or () if len(k) == 2)
            spec.images.append(ImageLayer(title=title, path=path, bbox=bbox, role=role, visible=visible, legend=legend))
        elif kind == "geojson" and path:
            _add_vector(spec, Path(path), title, str(art.get("role", "polygons")), max_geojson_bytes)
    seen: set[BBox] = set()
    for raw in aoi_bboxes:
        aoi = _bbox(raw)
        if aoi is not None and aoi not in seen:
            seen.add(aoi)
            spec.boxes.append(BoxLayer(title="Area of interest", bbox=aoi))
    return spec


def _add_vector(spec: MapSpec, path: Path, title: str, role: str, limit: int) -> None:
    try:
        if path.stat().st_size > limit:
            spec.notes.append(f"{title}: too large to draw ({path.stat().st_size / 1e6:.0f} MB); download it.")
            return
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        spec.notes.append(f"{title}: could not be read ({type(exc).__name__}).")
        return
    if not is_wgs84(data):
        return  # pixel coordinates of a non-georeferenced image: the chat shows its overlay instead
    color = PALETTE[len(spec.vectors) % len(PALETTE)]
    spec.vectors.append(VectorLayer(title=title, geojson=data, color=color, role=role))


def spec_from_catalog(rows: Sequence[Mapping[str, Any]]) -> MapSpec:
    """Catalog footprints as rectangles (one colour per collection); items without a bbox are skipped."""
    spec = MapSpec()
    colors: dict[str, str] = {}
    for row in rows:
        bbox = _bbox(row.get("bbox"))
        if bbox is None:
            continue
        collection = str(row.get("collection") or "")
        color = colors.setdefault(collection, PALETTE[len(colors) % len(PALETTE)])
        when = str(row.get("datetime") or "")[:10]
        title = f"{row.get('id')} {when}".strip()
        spec.boxes.append(BoxLayer(title=title, bbox=bbox, color=color, dashed=False, marker=True))
    return spec


def _script_json(value: Any) -> str:
    # Inside <script>, "</" would close the tag early: escape it (valid JSON either way).
    return json.dumps(value, separators=(",", ":"), default=str).replace("</", "<\\/")


def layer_label(title: str, role: str) -> str:
    """A short layer name: the role in words and the dates in the title (``After 2019-09-18``, ``a → b``)."""
    dates = list(dict.fromkeys(re.findall(r"\d{4}-\d{2}-\d{2}", title)))
    words = ROLE_LABELS.get(role, role.replace("_", " ").capitalize() or "Layer")
    if len(dates) >= 2:
        return f"{words} {dates[0]} → {dates[-1]}"
    return f"{words} {dates[0]}" if dates else words


def leaflet_document(
    spec: MapSpec,
    *,
    assets_url: str,
    file_url: Callable[[str], str],
    tiles_url: str | None = None,
    attribution: str = "",
    fallback_url: str | None = None,
    empty_text: str = "No georeferenced evidence yet: ask a question about a place.",
    empty_image_url: str | None = None,
    context_url: str | None = None,
    context_label: str = "Country outlines",
    examples: bool = False,
) -> str:
    """A standalone HTML document with the Leaflet map of ``spec``.

    Args:
        spec: Layers to draw.
        assets_url: URL of the served ``ui/static`` folder (``leaflet/``, ``geovigie-map.js``, ``.css``).
        file_url: Maps an image path on the server to a URL the browser can load.
        tiles_url: XYZ tile template; None keeps the map offline (imagery and results only).
        attribution: Attribution for the tiles.
        fallback_url: URL of the static rendering, shown when JavaScript or Leaflet is unavailable.
        empty_text: Shown instead of a map when no layer can be placed.
        empty_image_url: An image shown under ``empty_text`` (e.g. a pixel image that has no georeferencing).
        context_url: URL of a GeoJSON drawn under the imagery as light context (offline country outlines).
        context_label: Its name in the layer control and the attribution.
        examples: Offer the Examples panel (pick labelled points for a map from examples,
            ``ui/static/geovigie-examples.js``).
    """
    assets = html.escape(assets_url.rstrip("/"))
    head = f"<!doctype html><html><head><meta charset='utf-8'><link rel='stylesheet' href='{assets}/geovigie-map.css'>"
    if spec.is_empty():
        body = f'<p class="empty">{html.escape(empty_text)}</p>'
        if empty_image_url:
            body += f'<img class="pixels" alt="evidence" src="{html.escape(empty_image_url)}">'
        return f"{head}</head><body>{body}</body></html>"
    data = {
        "images": [
            {
                "title": i.title,
                "label": layer_label(i.title, i.role),
                "role": i.role,
                "url": file_url(i.path),
                "bbox": i.bbox,
                "visible": i.visible,
                "legend": i.legend,
            }
            for i in spec.images
        ],
        "vectors": [
            {"title": v.title, "label": layer_label(v.title, v.role), "color": v.color, "geojson": v.geojson}
            for v in spec.vectors
        ],
        "boxes": [
            {"title": b.title, "bbox": b.bbox, "color": b.color, "dashed": b.dashed, "marker": b.marker}
            for b in spec.boxes
        ],
        "bounds": spec.focus(),
        "tiles": tiles_url,
        "attribution": attribution,
        "static": fallback_url,
        "context": context_url,
        "context_label": context_label,
        "notes": spec.notes,
        "examples": examples,
    }
    noscript = f'<noscript><img alt="static map" src="{html.escape(fallback_url)}"></noscript>' if fallback_url else ""
    return (
        f"{head}<link rel='stylesheet' href='{assets}/leaflet/leaflet.css'>"
        f"<script src='{assets}/leaflet/leaflet.js'></script></head>"
        f"<body>{noscript}<div id='map'></div>"
        f"<script>window.GEOVIGIE_MAP = {_script_json(data)};</script>"
        f"<script src='{assets}/geovigie-map.js'></script>"
        + (f"<script src='{assets}/geovigie-examples.js'></script>" if examples else "")
        + "</body></html>"
    )


def map_iframe(document: str, *, height_px: int = 460, title: str = "Evidence map") -> str:
    """Wrap a map document in an ``<iframe srcdoc>`` (scripts run there; Gradio's HTML component runs none)."""
    return (
        f'<iframe class="geovigie-map" title="{html.escape(title)}" srcdoc="{html.escape(document, quote=True)}" '
        f'style="width:100%;height:{height_px}px;border:1px solid #ccd;border-radius:6px" loading="eager"></iframe>'
    )
