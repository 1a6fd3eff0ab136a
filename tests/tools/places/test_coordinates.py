"""Coordinates, bboxes and GeoJSON written in a query."""

from __future__ import annotations

import pytest

from geovigie.core.errors import ToolInputError
from geovigie.tools.places.coordinates import parse_geometry


@pytest.mark.parametrize(
    ("text", "lat", "lon"),
    [
        ("45.87, 14.56", 45.87, 14.56),
        ("(45.87 14.56)", 45.87, 14.56),
        ("45.87N 14.56E", 45.87, 14.56),
        ("14.56E, 45.87N", 45.87, 14.56),
        ("45°52'12\"N 14°33'36\"W", 45.87, -14.56),
        ("43.3N 5.4O", 43.3, -5.4),
        ("lat 38.1 lon -0.76", 38.1, -0.76),
        ("latitude: 38.1, longitude: -0.76", 38.1, -0.76),
    ],
)
def test_points(text: str, lat: float, lon: float) -> None:
    geom = parse_geometry(text)
    assert geom is not None and geom.kind == "coordinates" and geom.bbox is None
    assert (geom.lat, geom.lon) == pytest.approx((lat, lon), abs=1e-4)


def test_names_are_not_geometry() -> None:
    assert parse_geometry("Orihuela") is None
    assert parse_geometry("port du Havre") is None


def test_bbox_forms() -> None:
    for text in ("[-1.0, 37.9, -0.7, 38.2]", "-1.0,37.9,-0.7,38.2", "-1 37.9 -0.7 38.2"):
        geom = parse_geometry(text)
        assert geom is not None and geom.kind == "bbox" and geom.bbox == (-1.0, 37.9, -0.7, 38.2)


def test_geojson_geometry_feature_collection_and_point() -> None:
    fc = (
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [2.0, 48.0]}},'
        '{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[2.5, 48.5], [3.0, 49.0]]}}]}'
    )
    geom = parse_geometry(fc)
    assert geom is not None and geom.kind == "geojson" and geom.bbox == (2.0, 48.0, 3.0, 49.0)
    point = parse_geometry('{"type": "Point", "coordinates": [-0.94, 38.08]}')
    assert point is not None and point.bbox is None and (point.lat, point.lon) == (38.08, -0.94)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("95.0, 10.0", "out of range"),
        ("10, 20, 5, 30", "inverted"),
        ("[1, 2, 3]", "4 numbers"),
        ("45N 46S", "two latitudes"),
        ("{not json", "not valid JSON"),
        ('{"type": "Polygon"}', "no coordinates"),
        ('{"type": "LineString", "coordinates": [[500000, 4200000], [510000, 4210000]]}', "outside"),
    ],
)
def test_bad_geometry_raises_actionable_errors(text: str, message: str) -> None:
    with pytest.raises(ToolInputError, match=message) as info:
        parse_geometry(text)
    assert info.value.hint
