"""The evidence map: layers from artifacts, an offline Leaflet document, and the static fallback image."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import numpy as np
import pytest
from PIL import Image

from geovigie.ui.hooks import ASSETS_URL, STATIC_DIR
from geovigie.ui.map import (
    BoxLayer,
    MapSpec,
    geojson_bounds,
    layer_label,
    leaflet_document,
    map_iframe,
    spec_from_artifacts,
    spec_from_catalog,
)
from geovigie.ui.static_map import render_static_map

BBOX = (-0.96, 38.05, -0.92, 38.09)


def _polygon(w, s, e, n, **props):
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _artifacts(tmp_path):
    red = np.zeros((20, 40, 3), dtype=np.uint8)
    red[:, :20] = (255, 0, 0)  # left half red, right half black
    Image.fromarray(red).save(tmp_path / "q.png")
    Image.fromarray(red).save(tmp_path / "nogeo.png")
    water = {"type": "FeatureCollection", "features": [_polygon(-0.95, 38.06, -0.93, 38.08, name="</script><b>x")]}
    (tmp_path / "w.geojson").write_text(json.dumps(water))
    (tmp_path / "bad.geojson").write_text("{not json")
    return [
        {
            "id": "q.png",
            "kind": "png",
            "title": "S2 2019-09-18",
            "role": "quicklook",
            "path": str(tmp_path / "q.png"),
            "bbox": list(BBOX),
        },
        {
            "id": "nogeo.png",
            "kind": "png",
            "title": "pixels",
            "role": "boxes",
            "path": str(tmp_path / "nogeo.png"),
            "bbox": None,
        },
        {
            "id": "w.geojson",
            "kind": "geojson",
            "title": "water 2019-09-18",
            "role": "polygons",
            "path": str(tmp_path / "w.geojson"),
            "bbox": list(BBOX),
        },
        {
            "id": "bad.geojson",
            "kind": "geojson",
            "title": "broken",
            "role": "polygons",
            "path": str(tmp_path / "bad.geojson"),
        },
    ]


def test_layers_from_artifacts(tmp_path):
    spec = spec_from_artifacts(_artifacts(tmp_path), aoi_bboxes=[BBOX, list(BBOX), None])
    assert [i.title for i in spec.images] == ["S2 2019-09-18"]  # the pixel-only image cannot be placed
    assert [v.title for v in spec.vectors] == ["water 2019-09-18"]
    assert len(spec.boxes) == 1 and spec.boxes[0].title == "Area of interest"
    assert spec.notes == ["broken: could not be read (JSONDecodeError)."]
    assert spec.bounds() == BBOX
    spec.boxes.append(BoxLayer(title="wide area of interest", bbox=(-2.0, 37.0, 0.0, 39.0)))
    assert spec.bounds() == (-2.0, 37.0, 0.0, 39.0) and spec.focus() == BBOX  # open on the results
    small = spec_from_artifacts(_artifacts(tmp_path)[2:3], max_geojson_bytes=10)
    assert not small.vectors and "too large to draw" in small.notes[0]


def test_pixel_geojson_is_not_placed_on_the_map(tmp_path):
    declared = {"type": "FeatureCollection", "properties": {"crs": "pixel"}, "features": [_polygon(1, 2, 3, 4)]}
    undeclared = {"type": "FeatureCollection", "features": [_polygon(590, 88, 614, 107)]}
    for name, data in [("a.geojson", declared), ("b.geojson", undeclared)]:
        (tmp_path / name).write_text(json.dumps(data))
    arts = [{"kind": "geojson", "title": n, "path": str(tmp_path / n)} for n in ("a.geojson", "b.geojson")]
    assert spec_from_artifacts(arts).is_empty()


def test_geojson_bounds_of_collections_features_and_geometries():
    multi = {
        "type": "MultiPolygon",
        "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 7], [5, 5]]]],
    }
    assert geojson_bounds(multi) == (0, 0, 6, 7)
    assert geojson_bounds({"type": "FeatureCollection", "features": [_polygon(1, 2, 3, 4)]}) == (1, 2, 3, 4)
    assert geojson_bounds({"type": "FeatureCollection", "features": []}) is None


def test_leaflet_document_is_self_hosted_and_escapes_data(tmp_path):
    spec = spec_from_artifacts(_artifacts(tmp_path), aoi_bboxes=[BBOX])
    doc = leaflet_document(spec, assets_url=ASSETS_URL, file_url=lambda p: "/f=" + p, fallback_url="/f=/s.png")
    assert f"src='{ASSETS_URL}/leaflet/leaflet.js'" in doc and f"href='{ASSETS_URL}/leaflet/leaflet.css'" in doc
    assert f"src='{ASSETS_URL}/geovigie-map.js'" in doc
    assert re.search(r"https?://", doc) is None  # no CDN, no tiles: works offline
    assert "<\\/script><b>x" in doc and doc.count("</script>") == 3  # feature text cannot close the script
    found = re.search(r"window.GEOVIGIE_MAP = (.*?);</script>", doc)
    assert found is not None
    data = json.loads(found.group(1).replace("<\\/", "</"))
    assert data["images"][0]["url"] == "/f=" + str(tmp_path / "q.png") and data["tiles"] is None
    assert data["bounds"] == list(BBOX) and data["static"] == "/f=/s.png"
    assert '<noscript><img alt="static map" src="/f=/s.png">' in doc
    online = leaflet_document(spec, assets_url="/l", file_url=str, tiles_url="https://t/{z}/{x}/{y}.png")
    assert '"tiles":"https://t/{z}/{x}/{y}.png"' in online


def test_empty_map_says_why_and_iframe_carries_escaped_document():
    doc = leaflet_document(MapSpec(), assets_url="/l", file_url=str, empty_text="Nothing <yet>")
    assert "leaflet.js" not in doc and "Nothing &lt;yet&gt;" in doc and "<img" not in doc
    pixels = leaflet_document(MapSpec(), assets_url="/l", file_url=str, empty_image_url="/f=/boxes.png")
    assert '<img class="pixels" alt="evidence" src="/f=/boxes.png">' in pixels
    frame = map_iframe(doc, height_px=300)
    assert frame.startswith("<iframe") and "<script" not in frame and "height:300px" in frame
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame)
    assert srcdoc is not None and html.unescape(srcdoc.group(1)) == doc


def test_catalog_footprints_skip_ungeoreferenced_items():
    rows: list[dict[str, Any]] = [
        {"id": "a", "datetime": "2016-05-04T00:00:00Z", "collection": "oscd", "bbox": [1, 2, 3, 4]},
        {"id": "b", "datetime": None, "collection": "dota", "bbox": None},
        {"id": "c", "datetime": None, "collection": "oscd", "bbox": [5, 6, 7, 8]},
    ]
    spec = spec_from_catalog(rows)
    assert [b.title for b in spec.boxes] == ["a 2016-05-04", "c"]
    assert spec.boxes[0].color == spec.boxes[1].color and spec.boxes[0].marker and spec.bounds() == (1, 2, 7, 8)


def test_static_map_draws_imagery_polygons_and_boxes(tmp_path):
    spec = spec_from_artifacts(_artifacts(tmp_path)[:1])
    spec.boxes.append(BoxLayer(title="aoi", bbox=BBOX, dashed=False, color="#00ff00"))
    image = np.asarray(render_static_map(spec, size=(400, 400), margin=20))
    mid = image.shape[0] // 2
    row = image[mid]
    red = np.where((row[:, 0] > 200) & (row[:, 1] < 60))[0]
    black = np.where(row.sum(axis=1) < 30)[0]
    assert red.size and black.size and red.max() < black.min()  # the quicklook's left half lands on the left
    assert (image[:, :, 1] > 200).any()  # the green AOI outline is drawn
    polygons = render_static_map(spec_from_artifacts(_artifacts(tmp_path)[2:3]), size=(300, 300), margin=30)
    centre = np.asarray(polygons)[150, 150]
    background = np.asarray(polygons)[5, 295]
    assert tuple(centre) != tuple(background)  # the polygon is filled with its colour
    empty = np.asarray(render_static_map(MapSpec(), size=(100, 80)))
    assert empty.shape == (80, 100, 3)


def test_leaflet_is_vendored_with_its_licence():
    folder = STATIC_DIR / "leaflet"
    assert (folder / "leaflet.js").read_text()[:80].find("Leaflet 1.9.4") > 0
    assert "BSD" in (folder / "LICENSE").read_text() and (folder / "leaflet.css").is_file()
    assert (folder / "images" / "layers.png").is_file()
    assert "window.GEOVIGIE_MAP" in (STATIC_DIR / "geovigie-map.js").read_text()


def test_pairs_open_on_after_and_composites_stay_off_the_map(tmp_path):
    Image.fromarray(np.zeros((4, 4, 3), dtype=np.uint8)).save(tmp_path / "p.png")
    arts = [
        {"kind": "png", "role": role, "title": role, "path": str(tmp_path / "p.png"), "bbox": list(BBOX)}
        for role in ("before", "after", "side_by_side", "overlay")
    ]
    spec = spec_from_artifacts(arts)
    assert [(i.role, i.visible) for i in spec.images] == [("before", False), ("after", True), ("overlay", True)]
    alone = spec_from_artifacts(arts[:1])
    assert alone.images[0].visible


def test_legends_short_layer_names_and_offline_outlines_reach_the_page(tmp_path):
    arts = _artifacts(tmp_path)
    arts[0] = {**arts[0], "role": "overlay", "legend": [["water, 2019-09-18", "#1e5aff"], ["bad entry"]]}
    spec = spec_from_artifacts(arts)
    assert spec.images[0].legend == (("water, 2019-09-18", "#1e5aff"),)  # malformed entries are dropped
    assert layer_label("orihuela-s1 2019-09-18 water overlay", "overlay") == "Result 2019-09-18"
    assert layer_label("P0706 ship boxes", "boxes") == "Detections"
    assert layer_label("Change polygons 2016-05-04 to 2017-10-26", "polygons") == "Polygons 2016-05-04 → 2017-10-26"
    doc = leaflet_document(spec, assets_url="/l", file_url=str, context_url="/f=/countries.geojson")
    found = re.search(r"window.GEOVIGIE_MAP = (.*?);</script>", doc)
    assert found is not None
    data = json.loads(found.group(1).replace("<\\/", "</"))
    image = data["images"][0]
    assert image["label"] == "Result 2019-09-18" and image["title"] == "S2 2019-09-18" and image["role"] == "overlay"
    assert image["legend"] == [["water, 2019-09-18", "#1e5aff"]]
    assert data["context"] == "/f=/countries.geojson" and data["context_label"] == "Country outlines"
    assert 'class="legend"' not in doc  # the legend is a map control drawn by the script, not a strip below


def test_offline_country_outlines_come_from_an_installed_package(tmp_path):
    from geovigie.ui.basemap import countries_geojson, natural_earth_source

    if natural_earth_source() is None:
        pytest.skip("this pyogrio build ships no Natural Earth fixture: the map has no outlines")
    path = countries_geojson(tmp_path)
    assert path is not None and path == countries_geojson(tmp_path)  # written once, then reused
    collection = json.loads(path.read_text())
    names = {f["properties"]["name"] for f in collection["features"]}
    assert len(names) > 150 and {"France", "Spain", "Peru"} <= names
