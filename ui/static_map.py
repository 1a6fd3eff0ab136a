"""Static rendering of a map (PIL): the fallback when JavaScript is unavailable, and the report's map."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from geovigie.ui.map import BBox, MapSpec, VectorLayer, features


def _projection(bounds: BBox, size: tuple[int, int], margin: int) -> Callable[[float, float], tuple[float, float]]:
    w, s, e, n = bounds
    # Equirectangular with the mean latitude's scale: faithful enough for city-sized areas.
    kx = math.cos(math.radians((s + n) / 2))
    span_x, span_y = max((e - w) * kx, 1e-9), max(n - s, 1e-9)
    scale = min((size[0] - 2 * margin) / span_x, (size[1] - 2 * margin) / span_y)
    ox = (size[0] - span_x * scale) / 2
    oy = (size[1] - span_y * scale) / 2

    def project(lon: float, lat: float) -> tuple[float, float]:
        return ox + (lon - w) * kx * scale, oy + (n - lat) * scale

    return project


def render_static_map(spec: MapSpec, *, size: tuple[int, int] = (900, 640), margin: int = 24) -> Any:
    """A PIL image of the map (images, polygons, boxes, legend): the fallback when JavaScript is unavailable."""
    from PIL import Image, ImageDraw, ImageFont

    canvas = Image.new("RGBA", size, (223, 229, 234, 255))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=13)
    bounds = spec.bounds()
    if bounds is None:
        draw.text((margin, size[1] // 2), "No georeferenced evidence.", fill=(60, 60, 60), font=font)
        return canvas.convert("RGB")
    project = _projection(bounds, size, margin)
    for layer in spec.images:
        x0, y0 = project(layer.bbox[0], layer.bbox[3])
        x1, y1 = project(layer.bbox[2], layer.bbox[1])
        try:
            with Image.open(layer.path) as img:
                tile = img.convert("RGBA").resize((max(1, round(x1 - x0)), max(1, round(y1 - y0))))
        except OSError:
            continue
        canvas.alpha_composite(tile, (round(x0), round(y0)))
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    odraw = ImageDraw.Draw(overlay)
    for vector in spec.vectors:
        _draw_geojson(odraw, vector, project)
    canvas = Image.alpha_composite(canvas, overlay)
    draw = ImageDraw.Draw(canvas)
    for box in spec.boxes:
        x0, y0 = project(box.bbox[0], box.bbox[3])
        x1, y1 = project(box.bbox[2], box.bbox[1])
        _rectangle(draw, (x0, y0, x1, y1), box.color, dashed=box.dashed)
    _legend(draw, spec, font, size)
    draw.text(
        (margin, size[1] - 18),
        f"W {bounds[0]:.4f}  S {bounds[1]:.4f}  E {bounds[2]:.4f}  N {bounds[3]:.4f}",
        fill=(40, 40, 40),
        font=font,
    )
    return canvas.convert("RGB")


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _draw_geojson(draw: Any, vector: VectorLayer, project: Callable[[float, float], tuple[float, float]]) -> None:
    rgb = _rgb(vector.color)
    for feature in features(vector.geojson):
        geometry = feature.get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates", [])
        polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
        for polygon in polygons:
            rings = [[project(x, y) for x, y, *_ in ring] for ring in polygon]
            if rings and len(rings[0]) >= 3:
                draw.polygon(rings[0], fill=(*rgb, 64), outline=(*rgb, 255), width=2)
                for hole in rings[1:]:
                    if len(hole) >= 3:
                        draw.polygon(hole, outline=(*rgb, 255), width=1)
        if kind in ("LineString", "MultiLineString"):
            lines = [coords] if kind == "LineString" else coords
            for line in lines:
                draw.line([project(x, y) for x, y, *_ in line], fill=(*rgb, 255), width=2)
        if kind in ("Point", "MultiPoint"):
            for x, y, *_ in [coords] if kind == "Point" else coords:
                px, py = project(x, y)
                draw.ellipse((px - 4, py - 4, px + 4, py + 4), outline=(*rgb, 255), width=2)


def _rectangle(draw: Any, xy: tuple[float, float, float, float], color: str, *, dashed: bool) -> None:
    x0, y0, x1, y1 = xy
    if not dashed:
        draw.rectangle(xy, outline=_rgb(color), width=2)
        return
    for a, b in [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))]:
        length = math.hypot(b[0] - a[0], b[1] - a[1])
        steps = max(1, int(length // 10))
        for i in range(0, steps, 2):
            t0, t1 = i / steps, min(1.0, (i + 1) / steps)
            draw.line(
                [
                    (a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                    (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
                ],
                fill=_rgb(color),
                width=2,
            )


def _legend(draw: Any, spec: MapSpec, font: Any, size: tuple[int, int]) -> None:
    entries = [(colour, label) for i in spec.images if i.visible for label, colour in i.legend]
    entries += [(v.color, v.title) for v in spec.vectors] + [(b.color, b.title) for b in spec.boxes[:6]]
    entries += [("#888888", f"image: {i.title}") for i in spec.images if not i.legend]
    if not entries:
        return
    entries = entries[:10]
    width = min(size[0] - 20, 12 + 7 * max(len(t[:48]) for _, t in entries) + 24)
    x, y = 8, 8
    draw.rectangle((x, y, x + width, y + 8 + 18 * len(entries)), fill=(255, 255, 255, 230), outline=(150, 150, 150))
    for i, (color, title) in enumerate(entries):
        top = y + 6 + 18 * i
        draw.rectangle((x + 6, top + 2, x + 18, top + 14), fill=_rgb(color))
        draw.text((x + 24, top), title[:48], fill=(20, 20, 20), font=font)
