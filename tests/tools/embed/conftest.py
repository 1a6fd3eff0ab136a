"""Fixtures of the embedding tests: a tiny Presto-shaped ONNX graph (no torch, no checkpoint) and a scene."""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from pyproj import Transformer

import geovigie.tools.embed.service as service

S2 = [
    ("B02", "blue"), ("B03", "green"), ("B04", "red"), ("B05", "rededge1"), ("B06", "rededge2"),
    ("B07", "rededge3"), ("B08", "nir"), ("B8A", "nir08"), ("B11", "swir16"), ("B12", "swir22"),
]  # fmt: skip
MEADOW = (500, 800, 500, 1500, 2800, 3200, 3500, 3600, 2200, 1200)
GREENHOUSE = (2600, 2700, 2800, 2900, 3000, 3000, 3100, 3100, 3300, 2900)
WATER = (800, 700, 300, 250, 220, 200, 200, 190, 150, 100)
FOREST = (300, 500, 300, 900, 2300, 2800, 3100, 3200, 1200, 500)


def tiny_graph(path: Path, seed: int = 0) -> Path:
    """An ONNX graph with Presto's inputs and output: tanh of a random projection of the unmasked channels."""
    rng = np.random.default_rng(seed)
    weight = numpy_helper.from_array(rng.normal(0, 1, (17, 128)).astype(np.float32), "w")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    nodes = [
        helper.make_node("Sub", ["one", "mask"], ["keep"]),
        helper.make_node("Mul", ["x", "keep"], ["kept"]),
        helper.make_node("ReduceMean", ["kept"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("MatMul", ["mean", "w"], ["proj"]),
        helper.make_node("Tanh", ["proj"], ["embedding"]),
    ]
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "t", 17]),
        helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["b", "t", 17]),
        helper.make_tensor_value_info("months", TensorProto.INT64, ["b", "t"]),
        helper.make_tensor_value_info("latlon", TensorProto.FLOAT, ["b", 3]),
    ]
    out = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["b", 128])]
    graph = helper.make_graph(nodes, "tiny", inputs, out, initializer=[weight, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_presto(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny graph stands in for the Presto export everywhere the service looks for it."""
    path = tiny_graph(tmp_path / "tiny.onnx")
    monkeypatch.setattr(service, "presto_onnx", lambda settings: path)
    return path


def paint(
    layout: dict[str, tuple[slice, slice, tuple[int, ...]]], h: int = 60, w: int = 60, seed: int = 0
) -> np.ndarray:
    """(10, H, W) uint16 Sentinel-2 DN: meadow with painted surfaces and a little noise."""
    rng = np.random.default_rng(seed)
    data = np.empty((10, h, w), np.float32)
    data[:] = np.array(MEADOW, np.float32)[:, None, None]
    for rows, cols, surface in layout.values():
        data[:, rows, cols] = np.array(surface, np.float32)[:, None, None]
    data += rng.normal(0, 20, data.shape)
    return np.clip(data, 1, 10_000).astype(np.uint16)


def _lonlat(row: float, col: float) -> tuple[float, float]:
    """Lon/lat of a pixel centre of the default test grid (UTM 31N, 10 m, origin 500 000 / 4 800 000)."""
    x, y = 500_000 + 10 * (col + 0.5), 4_800_000 - 10 * (row + 0.5)
    lon, lat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True).transform(x, y)
    return (float(lon), float(lat))


@pytest.fixture
def s2_scene(ctx, make_geotiff, register) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """Register a painted Sentinel-2 scene and return its item id."""

    def make(layout: dict[str, tuple[slice, slice, tuple[int, ...]]], item_id: str = "painted") -> str:
        path = make_geotiff(paint(layout), name=f"{item_id}.tif")
        return register(ctx, path, item_id=item_id, bands=S2, scale=1e-4)  # type: ignore[no-any-return]

    return make


@pytest.fixture
def lonlat() -> Callable[[float, float], tuple[float, float]]:
    """Lon/lat of a pixel centre of the default test grid, as a fixture (conftest is not importable)."""
    return _lonlat


@pytest.fixture
def make_tiny_graph() -> Callable[[Path, int], Path]:
    """The tiny-graph writer, as a fixture."""
    return tiny_graph
