"""find_similar on a painted scene: a planted copy of the example ranks first; bad examples are refused."""

import json

import numpy as np
import pytest
import rasterio
from pydantic import ValidationError

from geovigie.core.errors import NoDataError, ToolInputError
from geovigie.tools.embed import find_similar

GREENHOUSE = (2600, 2700, 2800, 2900, 3000, 3000, 3100, 3100, 3300, 2900)
WATER = (800, 700, 300, 250, 220, 200, 200, 190, 150, 100)


@pytest.fixture
def planted(s2_scene):
    return s2_scene(
        {
            "example": (slice(8, 12), slice(8, 12), GREENHOUSE),
            "copy": (slice(44, 48), slice(38, 42), GREENHOUSE),
            "water": (slice(30, 40), slice(5, 20), WATER),
        }
    )


def test_planted_copy_of_the_example_ranks_first(ctx, planted, tiny_presto, lonlat) -> None:
    out = find_similar.run({"item_id": planted, "point": list(lonlat(9, 9)), "top_k": 3}, ctx)
    best = out.result.places[0]
    lon, lat = lonlat(45.5, 39.5)
    assert abs(best.lon - lon) < 3e-4 and abs(best.lat - lat) < 3e-4  # within ~2 pixels of the copy
    assert best.score > 0.95 > out.result.places[1].score
    assert [p.rank for p in out.result.places] == [1, 2, 3]
    kinds = {a.kind: a for a in out.artifacts}
    assert set(kinds) == {"png", "geojson", "cog"}
    with rasterio.open(kinds["cog"].path) as src:
        sim = src.read(1)
    assert sim.shape == (60, 60) and sim[45, 39] > sim[35, 10]  # the copy is more similar than water
    features = json.loads(open(kinds["geojson"].path).read())["features"]
    assert features[0]["properties"]["rank"] == 1 and features[0]["properties"]["score"] == best.score
    assert out.provenance.parameters["model"]["licence"] == "MIT"
    assert out.provenance.parameters["model"]["sha256"].startswith("559c9d76")


def test_polygon_example_and_search_box(ctx, planted, tiny_presto, lonlat) -> None:
    (w, n), (e, s) = lonlat(7.6, 7.6), lonlat(11.4, 11.4)
    polygon = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    (bw, bn), (be, bs) = lonlat(25, 25), lonlat(59, 59)
    out = find_similar.run({"item_id": planted, "polygon": polygon, "bbox": [bw, bs, be, bn], "top_k": 1}, ctx)
    assert out.result.example_pixels == 16
    lon, lat = lonlat(45.5, 39.5)
    assert abs(out.result.places[0].lon - lon) < 3e-4 and abs(out.result.places[0].lat - lat) < 3e-4


def test_bad_examples_get_clear_errors(ctx, planted, tiny_presto, lonlat) -> None:
    with pytest.raises(ValidationError, match="exactly one of point, box or polygon"):
        find_similar.input_model(item_id=planted)
    with pytest.raises(NoDataError, match="outside scene"):
        find_similar.run({"item_id": planted, "point": [10.0, 10.0]}, ctx)
    with pytest.raises(ToolInputError, match="not a polygon"):
        find_similar.run({"item_id": planted, "polygon": {"type": "Point", "coordinates": list(lonlat(9, 9))}}, ctx)
    with pytest.raises(ToolInputError, match="not lon/lat"):
        find_similar.run({"item_id": planted, "point": [500_000.0, 4_800_000.0]}, ctx)
    assert np.isfinite(lonlat(0, 0)).all()


def test_without_the_model_raw_bands_still_find_the_copy(ctx, planted, lonlat, monkeypatch) -> None:
    import geovigie.tools.embed.service as service
    from geovigie.tools.models import ModelUnavailableError

    def absent(settings):
        raise ModelUnavailableError("Presto weights not found.", hint="Set GEOVIGIE_MODELS_DIR.")

    monkeypatch.setattr(service, "presto_onnx", absent)
    out = find_similar.run({"item_id": planted, "point": list(lonlat(9, 9)), "top_k": 2}, ctx)
    lon, lat = lonlat(45.5, 39.5)
    assert abs(out.result.places[0].lon - lon) < 3e-4 and abs(out.result.places[0].lat - lat) < 3e-4
    assert "raw bands" in out.summary and any("Presto could not run" in n for n in out.notes)


def test_across_the_catalog_searches_the_collection_s_other_scenes(ctx, s2_scene, tiny_presto, lonlat) -> None:
    example = s2_scene({"example": (slice(8, 12), slice(8, 12), GREENHOUSE)}, item_id="painted-a")
    other = s2_scene(
        {"example": (slice(8, 12), slice(8, 12), WATER), "copy": (slice(40, 44), slice(40, 44), GREENHOUSE)},
        item_id="painted-b",
    )
    point = list(lonlat(9, 9))
    alone = find_similar.run({"item_id": example, "point": point, "top_k": 3}, ctx)
    assert {p.item_id for p in alone.result.places} == {example}  # only the example's scene by default
    out = find_similar.run({"item_id": example, "point": point, "top_k": 3, "across_catalog": True}, ctx)
    assert {s.item_id for s in out.provenance.scenes} == {example, other}
    best = out.result.places[0]
    lon, lat = lonlat(41.5, 41.5)
    assert best.item_id == other and abs(best.lon - lon) < 3e-4 and abs(best.lat - lat) < 3e-4
