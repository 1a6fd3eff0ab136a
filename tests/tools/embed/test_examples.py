"""map_from_examples on a painted scene: classes mapped from a few points, compared with raw bands."""

import pytest
import rasterio

from geovigie.core.errors import ToolInputError
from geovigie.tools.embed import map_from_examples

FOREST = (300, 500, 300, 900, 2300, 2800, 3100, 3200, 1200, 500)
WATER = (800, 700, 300, 250, 220, 200, 200, 190, 150, 100)


@pytest.fixture
def three_surfaces(s2_scene):
    # meadow (background), forest in the top half, a lake bottom left
    return s2_scene({"forest": (slice(0, 30), slice(0, 60), FOREST), "lake": (slice(40, 60), slice(0, 20), WATER)})


def test_classes_from_a_few_points(ctx, three_surfaces, tiny_presto, lonlat) -> None:
    points = {"forest": [(5, 5), (20, 50)], "meadow": [(35, 40), (55, 50)], "water": [(45, 5), (55, 15)]}
    examples = [{"label": k, "point": list(lonlat(r, c))} for k, pts in points.items() for r, c in pts]
    out = map_from_examples.run({"item_id": three_surfaces, "examples": examples}, ctx)
    shares = {c.label: c for c in out.result.classes}
    assert shares["forest"].fraction == pytest.approx(0.5, abs=0.02)
    assert shares["water"].fraction == pytest.approx(400 / 3600, abs=0.02)
    assert shares["forest"].area_m2 == pytest.approx(shares["forest"].pixels * 100, rel=0.01)
    assert out.result.holdout_accuracy_embeddings == 1.0 and out.result.holdout_accuracy_raw == 1.0
    assert out.result.agreement_with_raw > 0.95 and 0.5 < out.result.mean_confidence <= 1.0
    cog = next(a for a in out.artifacts if a.kind == "cog")
    with rasterio.open(cog.path) as src:
        codes, conf = src.read(1), src.read(2)
    assert codes[10, 10] == 1 and codes[50, 10] == 3 and codes[50, 40] == 2 and conf.max() <= 100
    assert "raw bands" in out.summary and out.provenance.parameters["model"]["name"] == "presto"


def test_one_class_or_empty_examples_are_refused(ctx, three_surfaces, tiny_presto, lonlat) -> None:
    same = [{"label": "forest", "point": list(lonlat(5, 5))}, {"label": "forest", "point": list(lonlat(6, 6))}]
    with pytest.raises(ToolInputError, match="at least two classes"):
        map_from_examples.run({"item_id": three_surfaces, "examples": same}, ctx)
    far = [{"label": "a", "point": list(lonlat(5, 5))}, {"label": "b", "point": [20.0, 10.0]}]
    with pytest.raises(ToolInputError, match="outside the area"):
        map_from_examples.run({"item_id": three_surfaces, "examples": far}, ctx)
