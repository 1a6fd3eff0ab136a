"""Galileo nano on a grid: the space-time cube's normalisation and masks, one vector per patch given to its
pixels, the cache keyed by model, and the tools answering with ``model="galileo_nano"`` (random weights)."""

from pathlib import Path

import numpy as np
import pytest

import geovigie.tools.embed.galileo_embed as galileo_embed
from geovigie.tools.catalog import get_scene
from geovigie.tools.embed import GALILEO, embed, find_similar, map_from_examples
from geovigie.tools.embed.galileo_embed import FILL, cube, tile_side, token_missing
from geovigie.tools.embed.service import cache_path
from geovigie.tools.raster import scene_grid

GREENHOUSE = (2600, 2700, 2800, 2900, 3000, 3000, 3100, 3100, 3300, 2900)
WATER = (800, 700, 300, 250, 220, 200, 200, 190, 150, 100)
FOREST = (300, 500, 300, 900, 2300, 2800, 3100, 3200, 1200, 500)
SHIFT = np.array([-20.0, -30.0] + [0.0] * 10 + [0.0], np.float32)
DIV = np.array([20.0, 20.0] + [4000.0] * 10 + [1.0], np.float32)
NORM = (SHIFT, DIV)


def test_cube_normalises_computes_ndvi_and_masks_absent_groups() -> None:
    b = {name: np.full((2, 2), 1000.0, np.float32) for name in ("B02", "B03", "B05", "B06", "B07", "B8A", "B11")}
    b["B04"], b["B08"] = np.full((2, 2), 500.0, np.float32), np.full((2, 2), 1500.0, np.float32)
    b["B12"] = np.array([[1000.0, np.nan], [1000.0, 1000.0]], np.float32)
    x, present = cube([b], SHIFT, DIV)
    assert x.shape == (2, 2, 1, 13) and present.shape == (2, 2, 1, 7)
    assert x[0, 0, 0, 2] == pytest.approx(0.25) and x[0, 0, 0, 12] == pytest.approx(0.5)  # NDVI (1500-500)/2000
    assert not present[..., 0].any()  # no S1 at all
    assert present[..., 1:5].all() and present[..., 6].all()
    assert not present[0, 1, 0, 5] and present[0, 0, 0, 5]  # SWIR lacks B12 at one pixel
    assert x[0, 1, 0, 11] == FILL[11]
    reflectance = {k: v / 10_000 for k, v in b.items()}  # a scene read as reflectance is put back in DN
    assert np.allclose(cube([reflectance], SHIFT, DIV)[0], x, equal_nan=True)


def test_token_missing_counts_only_pixels_inside_the_grid() -> None:
    present = np.ones((8, 8, 1, 7), bool)
    present[:4, :4, 0, 1] = False
    present[4:, :4, 0, 1] = [[True] * 4, [False] * 4, [False] * 4, [False] * 4]
    real = np.zeros((8, 8), bool)
    real[:, :5] = True  # the grid ends after column 4: the right patches hold one real column
    miss = token_missing(present & real[:, :, None, None], 4, real)
    assert miss.shape == (2, 2, 1, 7)
    assert miss[0, 0, 0, 1] == 1.0 and miss[1, 0, 0, 1] == 1.0  # 0 and 4 of 16 pixels
    assert miss[0, 1, 0, 1] == 0.0  # 4 real pixels, all present
    assert tile_side(4, 1) == 64 and tile_side(4, 5) == 28 and tile_side(8, 1) == 128


@pytest.fixture(scope="module")
def random_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="torch (optional extra) exports the random-weights Galileo graph")
    from geovigie.tools.embed.galileo_card import write_galileo_onnx
    from geovigie.tools.embed.galileo_net import random_galileo

    path = tmp_path_factory.mktemp("galileo") / "random.onnx"
    write_galileo_onnx(random_galileo(0), path)
    return path


@pytest.fixture
def random_galileo_graph(random_graph: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The random graph and fixed statistics stand in for the checkpoint's export and normalization.json."""
    monkeypatch.setattr(galileo_embed, "galileo_onnx", lambda settings, patch=4: random_graph)
    monkeypatch.setattr(galileo_embed, "galileo_normalisation", lambda settings: NORM)
    return random_graph


def test_one_vector_per_patch_nodata_invalid_and_cached_under_the_model(ctx, s2_scene, random_galileo_graph) -> None:
    item = s2_scene({"water": (slice(0, 20), slice(0, 60), WATER)})
    scene = get_scene(ctx.db, item)
    grid = scene_grid(scene, None)
    seen: list[float] = []
    emb = embed([scene], grid, ctx.settings, model="galileo_nano", progress=lambda f, m: seen.append(f))
    assert emb.card is GALILEO and emb.vectors.shape == (60, 60, 128) and emb.valid.all()
    assert seen == [1.0]  # 60 px fits one 64 px tile
    patch = emb.vectors[8:12, 20:24].reshape(16, 128)
    assert np.allclose(patch, patch[0]) and not np.allclose(emb.vectors[8, 20], emb.vectors[8, 24])
    assert np.linalg.norm(emb.vectors[5, 5] - emb.vectors[40, 40]) > np.linalg.norm(
        emb.vectors[40, 40] - emb.vectors[52, 28]
    )
    path = cache_path(ctx.settings, GALILEO, [item], grid)
    assert path.is_file() and "galileo_nano-0f0b5b95" in str(path)
    again = embed([scene], grid, ctx.settings, model="galileo_nano")
    assert again.cached and np.array_equal(again.vectors, emb.vectors)
    presto_path = cache_path(ctx.settings, embed.__globals__["PRESTO"], [item], grid)
    assert presto_path != path


def test_tools_answer_with_galileo_and_say_so(ctx, s2_scene, random_galileo_graph, lonlat) -> None:
    item = s2_scene(
        {
            "example": (slice(8, 12), slice(8, 12), GREENHOUSE),  # one 4 x 4 patch each
            "copy": (slice(44, 48), slice(36, 40), GREENHOUSE),
            "forest": (slice(28, 40), slice(0, 24), FOREST),
        }
    )
    out = find_similar.run({"item_id": item, "point": list(lonlat(10, 10)), "top_k": 2, "model": "galileo_nano"}, ctx)
    assert out.provenance.parameters["model"]["name"] == "galileo_nano"
    assert out.provenance.parameters["model"]["sha256"].startswith("eab6acac")
    assert "Galileo nano" in out.provenance.method and any("4 x 4 px" in n for n in out.notes)
    assert [p.rank for p in out.result.places] == [1, 2]
    examples = [
        {"label": "greenhouse", "point": list(lonlat(10, 10))},
        {"label": "greenhouse", "point": list(lonlat(46, 38))},
        {"label": "forest", "point": list(lonlat(30, 4))},
        {"label": "forest", "point": list(lonlat(36, 20))},
        {"label": "meadow", "point": list(lonlat(4, 50))},
        {"label": "meadow", "point": list(lonlat(56, 8))},
    ]
    mapped = map_from_examples.run({"item_id": item, "examples": examples, "model": "galileo_nano"}, ctx)
    assert mapped.result.model["name"] == "galileo_nano"
    assert sum(c.fraction for c in mapped.result.classes) == pytest.approx(1.0, abs=1e-3)


def test_real_checkpoint_finds_the_copy_among_places_as_far_and_maps_classes(ctx, s2_scene, lonlat, tmp_path,
                                                                            monkeypatch) -> None:  # fmt: skip
    pytest.importorskip("torch", reason="torch (optional extra) exports the checkpoint")
    from geovigie.core.settings import Settings
    from geovigie.tools.embed.galileo_card import _shift_div, write_galileo_onnx
    from geovigie.tools.embed.galileo_net import load_galileo

    folder = Settings().models_dir / "galileo_nano"
    if not (folder / "encoder.pt").is_file():
        pytest.skip(f"Galileo nano checkpoint absent ({folder}; see ../shared/models/SOURCES.md)")
    graph = tmp_path / "galileo.onnx"
    write_galileo_onnx(load_galileo(str(folder / "encoder.pt")), graph)
    monkeypatch.setattr(galileo_embed, "galileo_onnx", lambda settings, patch=4: graph)
    monkeypatch.setattr(
        galileo_embed, "galileo_normalisation", lambda settings: _shift_div(str(folder / "normalization.json"))
    )
    item = s2_scene(
        {
            "example": (slice(8, 12), slice(8, 12), GREENHOUSE),  # patch (2, 2)
            "copy": (slice(44, 48), slice(36, 40), GREENHOUSE),  # patch (11, 9)
            "forest": (slice(28, 40), slice(0, 24), FOREST),
            "water": (slice(0, 8), slice(40, 60), WATER),
        }
    )
    scene = get_scene(ctx.db, item)
    emb = embed([scene], scene_grid(scene, None), ctx.settings, model="galileo_nano", use_cache=False)
    v = emb.vectors[::4, ::4]
    sim = (v / np.linalg.norm(v, axis=-1, keepdims=True)) @ (v[2, 2] / np.linalg.norm(v[2, 2]))
    # A patch's vector also carries where it sits in its tile (nearby meadow scores high), so the copy is
    # compared with every other place at least as far from the example: it must be the most similar of them.
    rows, cols = np.indices(sim.shape)
    far = np.hypot(rows - 2, cols - 2) >= np.hypot(11 - 2, 9 - 2)
    far[11, 9] = False
    assert sim[11, 9] > sim[far].max() + 0.05, (sim[11, 9], sim[far].max())
    examples = [
        {"label": "greenhouse", "point": list(lonlat(10, 10))},
        {"label": "forest", "point": list(lonlat(30, 4))},
        {"label": "forest", "point": list(lonlat(36, 20))},
        {"label": "meadow", "point": list(lonlat(20, 50))},
        {"label": "meadow", "point": list(lonlat(56, 8))},
    ]
    mapped = map_from_examples.run({"item_id": item, "examples": examples, "model": "galileo_nano"}, ctx)
    shares = {c.label: c.fraction for c in mapped.result.classes}
    assert shares["meadow"] > shares["forest"] > shares["greenhouse"] > 0, shares
