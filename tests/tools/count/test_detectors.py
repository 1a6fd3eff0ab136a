"""Offline detectors on synthetic scenes with known answers, the registry, and checkpoint loading."""

import sys
import types

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from scipy import ndimage as ndi

from geovigie.core.errors import ConfigError, ToolInputError
from geovigie.tools.count.checkpoint import UltralyticsDetector, load_checkpoint
from geovigie.tools.count.detectors import CLASS_SPECS, Detection, get_detector, offline_detector, to_unit_rgb
from geovigie.tools.count.regions import count_fields, count_water_bodies
from geovigie.tools.raster.grid import Grid
from geovigie.tools.raster.read import RasterData
from geovigie.tools.raster.scene import Scene


def _texture(shape, rng, *, scale=4.0, amp=0.05):
    return amp * ndi.gaussian_filter(rng.standard_normal(shape), scale) * scale * 2 + 0.02 * rng.standard_normal(shape)


def _place(n, shape, radius, gap, rng):
    out: list[tuple[float, float]] = []
    for _ in range(20_000):
        if len(out) == n:
            break
        y, x = rng.uniform(radius + 3, shape[0] - radius - 3), rng.uniform(radius + 3, shape[1] - radius - 3)
        if all(np.hypot(y - a, x - b) > 2 * radius + gap for a, b in out):
            out.append((y, x))
    return out


def _u8(img):
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def tree_plot(n, *, px=0.1, size=500, seed=0):
    """Sandy ground with ``n`` green crowns 3-4.4 m across, each casting a shadow."""
    rng = np.random.default_rng(seed)
    img = np.ones((size, size, 3)) * np.array([0.62, 0.55, 0.45]) + _texture((size, size), rng)[..., None]
    yy, xx = np.mgrid[:size, :size]
    centres = _place(n, (size, size), 2.0 / px, 0.5 / px, rng)
    for y, x in centres:
        r = rng.uniform(1.5, 2.2) / px
        d = np.hypot(yy - y, xx - x)
        crown = d <= r
        img[(np.hypot(yy - y - 0.6 * r, xx - x - 0.6 * r) <= r) & ~crown] *= 0.55
        fall = 1 - 0.5 * (d / r) ** 2
        img[crown] = np.array([0.25, 0.45, 0.15]) * fall[crown][:, None] + 0.04 * rng.standard_normal((crown.sum(), 1))
    return _u8(img), centres


def marina(n, *, px=0.25, size=600, seed=0):
    """Dark water with ``n`` white hulls 8-12 m long; a quay with a bright building on the left."""
    rng = np.random.default_rng(seed)
    img = np.ones((size, size, 3)) * np.array([0.08, 0.16, 0.18]) + 0.01 * rng.standard_normal((size, size, 1))
    img[:, :80] = np.array([0.5, 0.48, 0.45]) + _texture((size, 80), rng)[..., None]
    img[100:160, 20:60] = 0.9
    yy, xx = np.mgrid[:size, :size]
    centres = [(y, x + 100) for y, x in _place(n, (size, size - 100), 6 / px, 1 / px, rng)]
    for y, x in centres:
        th = rng.uniform(0, np.pi)
        half_len, half_beam = rng.uniform(8, 12) / px / 2, rng.uniform(2.8, 3.6) / px / 2
        u = (xx - x) * np.cos(th) + (yy - y) * np.sin(th)
        v = -(xx - x) * np.sin(th) + (yy - y) * np.cos(th)
        hull = (u / half_len) ** 2 + (v / half_beam) ** 2 <= 1
        img[hull] = 0.85 + 0.05 * rng.standard_normal((hull.sum(), 1))
    return _u8(img), centres


def parking(n, *, px=0.3, size=500, seed=0):
    """Asphalt with painted lines, one building, and ``n`` cars (2 light for 1 dark)."""
    rng = np.random.default_rng(seed)
    img = np.ones((size, size, 3)) * 0.45 + _texture((size, size), rng, amp=0.02)[..., None]
    img[::60] = 0.85
    img[20:90, 20:120] = 0.8
    yy, xx = np.mgrid[:size, :size]
    centres = [c for c in _place(n, (size, size), 3 / px, 1 / px, rng) if not (c[0] < 110 and c[1] < 140)]
    for i, (y, x) in enumerate(centres):
        h, w = (4.5 / px / 2, 1.8 / px / 2) if i % 2 else (1.8 / px / 2, 4.5 / px / 2)
        img[(abs(yy - y) <= h) & (abs(xx - x) <= w)] = 0.9 if i % 3 else 0.1
    return _u8(img), centres


def roofs(n, *, px=0.5, size=500, seed=0):
    """Rough (forest-like) texture with ``n`` smooth rectangular roofs of 80-250 m²."""
    rng = np.random.default_rng(seed)
    noise = 0.12 * rng.standard_normal((size, size)) + _texture((size, size), rng, scale=2)
    img = np.ones((size, size, 3)) * 0.35 + noise[..., None]
    yy, xx = np.mgrid[:size, :size]
    centres = _place(n, (size, size), 10 / px, 4 / px, rng)
    for y, x in centres:
        h, w = rng.uniform(4, 7) / px, rng.uniform(5, 9) / px
        roof = (abs(yy - y) <= h) & (abs(xx - x) <= w)
        img[roof] = rng.choice([0.2, 0.7]) + 0.005 * rng.standard_normal((roof.sum(), 1))
    return _u8(img), centres


def tank_farm(n, *, px=0.5, size=800, seed=0):
    """``n`` bright circular tanks 12-40 m across with shadows on a textured yard; returns (image, (y, x, r))."""
    rng = np.random.default_rng(seed)
    grey = 0.35 + 0.08 * ndi.gaussian_filter(rng.standard_normal((size, size)), 6) * 6
    grey += 0.03 * rng.standard_normal((size, size))
    yy, xx = np.mgrid[:size, :size]
    tanks: list[tuple[float, float, float]] = []
    while len(tanks) < n:
        r = rng.uniform(6, 20) / px
        y, x = rng.uniform(r + 5, size - r - 5, 2)
        if all(np.hypot(y - cy, x - cx) > r + cr + 10 for cy, cx, cr in tanks):
            tanks.append((y, x, r))
    for y, x, r in tanks:
        d = np.hypot(yy - y, xx - x)
        grey[(np.hypot(yy - y - 0.3 * r, xx - x - 0.3 * r) <= r) & (d > r)] *= 0.5
        grey[d <= r] = 0.75 + 0.03 * rng.standard_normal((d <= r).sum())
    return _u8(np.dstack([grey, grey * 0.98, grey * 0.95])), tanks


def _hits(dets, centres):
    """Truth centres that fall inside some detection box."""
    return sum(any(d.xmin <= x <= d.xmax and d.ymin <= y <= d.ymax for d in dets) for y, x in centres)


@pytest.mark.parametrize("seed", [0, 1])
def test_tree_crowns_are_counted_and_located(seed):
    img, centres = tree_plot(12, seed=seed)
    dets = offline_detector("tree").detect(img, 0.1)
    assert abs(len(dets) - len(centres)) <= 0.1 * len(centres)
    assert _hits(dets, centres) >= len(centres) - 1
    assert all(d.label == "tree" for d in dets)


def test_ships_on_water_are_counted_and_quay_building_ignored():
    img, centres = marina(14)
    dets = offline_detector("ship").detect(img, 0.25)
    assert abs(len(dets) - len(centres)) <= 0.1 * len(centres)
    assert _hits(dets, centres) >= len(centres) - 1
    assert not any(d.xmax < 80 for d in dets), "the building on the quay is not a ship"


def test_vehicles_light_and_dark_counted_lines_and_building_ignored():
    img, centres = parking(14)
    dets = offline_detector("vehicle").detect(img, 0.3)
    assert abs(len(dets) - len(centres)) <= max(1, 0.1 * len(centres))
    assert _hits(dets, centres) >= len(centres) - 1
    assert not any(d.xmax - d.xmin > 80 for d in dets), "the 30 m building is not a vehicle"


def test_smooth_roofs_counted_in_rough_texture():
    img, centres = roofs(10)
    dets = offline_detector("building").detect(img, 0.5)
    assert abs(len(dets) - len(centres)) <= 1
    assert _hits(dets, centres) >= len(centres) - 1


def test_storage_tanks_counted_with_their_size():
    img, tanks = tank_farm(8)
    dets = offline_detector("storage_tank").detect(img, 0.5)
    assert abs(len(dets) - len(tanks)) <= 1
    for y, x, r in tanks:
        match = [d for d in dets if d.xmin <= x <= d.xmax and d.ymin <= y <= d.ymax]
        assert match, f"tank at ({x:.0f}, {y:.0f}) missed"
        assert abs((match[0].xmax - match[0].xmin) / 2 - r) <= 0.25 * r


@pytest.mark.parametrize("obj", ["tree", "ship", "vehicle", "building", "storage_tank"])
def test_nothing_is_found_in_noise(obj):
    rng = np.random.default_rng(3)
    noise = 0.5 + ndi.gaussian_filter(rng.standard_normal((300, 300, 3)), (4, 4, 0)) * 0.2
    assert offline_detector(obj).detect(_u8(noise), 0.3) == []


def test_parameters_follow_the_pixel_size():
    vehicles = offline_detector("vehicle")
    assert vehicles.parameters(0.1)["tophat_radius_px"] == 20
    assert vehicles.parameters(0.5)["tophat_radius_px"] == 4
    trees = offline_detector("tree")
    assert trees.parameters(0.05)["work_pixel_m"] == pytest.approx(0.2)
    assert trees.parameters(0.5)["work_pixel_m"] == pytest.approx(0.5)
    tanks = offline_detector("storage_tank").parameters(0.3)
    assert tanks["radius_px"][0] >= 3 and tanks["work_pixel_m"] == pytest.approx(0.9)


def test_unit_rgb_accepts_grey_uint16_and_float():
    pan = np.arange(100, dtype=np.uint16).reshape(10, 10) * 40
    out = to_unit_rgb(pan)
    assert out.shape == (10, 10, 3) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    refl = np.full((4, 4, 3), 0.2, np.float32)
    np.testing.assert_allclose(to_unit_rgb(refl), 0.2)


def test_detection_shift_and_centre():
    d = Detection(1, 2, 5, 6, 0.9, "ship").shifted(10, 20)
    assert (d.xmin, d.ymin, d.xmax, d.ymax) == (11, 22, 15, 26) and d.centre == (13, 24)


def test_registry_serves_every_detected_class():
    for obj in ("tree", "ship", "vehicle", "building", "storage_tank"):
        det = get_detector(obj)
        assert obj in det.classes and det.name
        assert CLASS_SPECS[obj].max_pixel_m is not None


def test_missing_checkpoint_is_an_input_error(tmp_path):
    with pytest.raises(ToolInputError, match="No usable detector checkpoint"):
        get_detector("ship", str(tmp_path / "nope.pt"))
    odd = tmp_path / "model.bin"
    odd.write_bytes(b"x")
    with pytest.raises(ToolInputError, match="Unsupported checkpoint format"):
        load_checkpoint(str(odd), "ship")


def test_checkpoint_without_its_library_asks_to_install_it(tmp_path, monkeypatch):
    weights = tmp_path / "yolo.pt"
    weights.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # import fails as if not installed
    with pytest.raises(ConfigError) as err:
        get_detector("vehicle", str(weights))
    assert "pip install ultralytics" in err.value.user_message
    trees = tmp_path / "trees.ckpt"
    trees.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "deepforest", None)
    with pytest.raises(ConfigError, match="deepforest"):
        get_detector("tree", str(trees))


class _FakeBoxes:
    xyxy = np.array([[10, 10, 30, 20], [40, 40, 50, 60], [0, 0, 5, 5]], dtype=float)
    conf = np.array([0.9, 0.8, 0.7])
    cls = np.array([1, 0, 2])


class _FakeResult:
    obb = None
    boxes = _FakeBoxes()


class _FakeYolo:
    names = {0: "plane", 1: "small-vehicle", 2: "large-vehicle"}

    def __init__(self, path):
        self.path = path

    def predict(self, image, conf, verbose):
        assert image.dtype == np.uint8 and image.ndim == 3
        return [_FakeResult()]


def test_ultralytics_checkpoint_keeps_only_the_target_classes(tmp_path, monkeypatch):
    weights = tmp_path / "dota.pt"
    weights.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "ultralytics", types.SimpleNamespace(YOLO=_FakeYolo))
    det = get_detector("vehicle", str(weights))
    assert isinstance(det, UltralyticsDetector) and "dota.pt" in det.name
    found = det.detect(np.zeros((64, 64, 3), np.float32), 0.3)
    assert [(d.xmin, d.score) for d in found] == [(10.0, 0.9), (0.0, 0.7)]
    with pytest.raises(ToolInputError, match="none of which is a ship"):
        get_detector("ship", str(weights))


def _multispectral():
    """120 x 120 px at 10 m: six crop parcels (NDVI 0.5-0.8) between roads, and two lakes."""
    rng = np.random.default_rng(0)
    red = np.full((120, 120), 0.12, np.float32)
    nir = np.full((120, 120), 0.2, np.float32)
    green = np.full((120, 120), 0.1, np.float32)
    for k, ndvi in enumerate([0.5, 0.7, 0.6, 0.8, 0.55, 0.75]):
        r0, c0 = 5 + (k // 3) * 55, 5 + (k % 3) * 38
        red[r0 : r0 + 50, c0 : c0 + 35] = 0.05
        nir[r0 : r0 + 50, c0 : c0 + 35] = 0.05 * (1 + ndvi) / (1 - ndvi)
    red += 0.005 * rng.standard_normal(red.shape).astype(np.float32)
    nir += 0.01 * rng.standard_normal(nir.shape).astype(np.float32)
    yy, xx = np.mgrid[:120, :120]
    for cy, cx, r in [(30, 20, 8), (90, 100, 6)]:
        lake = np.hypot(yy - cy, xx - cx) < r
        nir[lake], green[lake], red[lake] = 0.02, 0.08, 0.03
    bands = [{"name": n, "common_name": n} for n in ("red", "nir", "green")]
    scene = Scene({"id": "ms", "properties": {}, "assets": {"d": {"href": "x", "eo:bands": bands}}})
    grid = Grid(CRS.from_epsg(32631), Affine(10, 0, 500_000, 0, -10, 4_800_000), 120, 120)
    return RasterData(np.stack([red, nir, green]), ["red", "nir", "green"], grid, scene)


def test_fields_and_water_bodies_are_counted_as_components():
    raster = _multispectral()
    fields = count_fields(raster, 10.0)
    assert fields.count == 6 and fields.approximate
    assert fields.labels.max() == 6
    water = count_water_bodies(raster, 10.0)
    assert water.count == 2 and not water.approximate
    assert water.parameters["min_pixels"] == 4
