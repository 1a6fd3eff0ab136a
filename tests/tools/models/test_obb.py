import math

import numpy as np
import pytest

from geovigie.tools.models import (
    YOLO_DOTA_OBB,
    OrientedBox,
    OrientedDetector,
    clear_sessions,
    decode,
    letterbox,
    rotated_iou,
    rotated_nms,
)
from geovigie.tools.models.obb import Letterbox

N_CLS = len(YOLO_DOTA_OBB.classes)


def _box(cx, cy, w=10.0, h=4.0, angle=0.0, score=0.9, cls=1):
    return OrientedBox(cx, cy, w, h, angle, score, cls, YOLO_DOTA_OBB.classes[cls])


def test_rotated_iou_exact_values():
    assert rotated_iou(_box(0, 0), _box(0, 0)) == pytest.approx(1.0)
    assert rotated_iou(_box(0, 0), _box(5, 0)) == pytest.approx(1 / 3)  # half overlap: 20 / (40 + 40 - 20)
    # A square rotated by 90 degrees is the same square.
    assert rotated_iou(_box(0, 0, 6, 6), _box(0, 0, 6, 6, angle=math.pi / 2)) == pytest.approx(1.0)
    # A 10x4 box crossed at 90 degrees: the overlap is the 4x4 centre.
    assert rotated_iou(_box(0, 0), _box(0, 0, angle=math.pi / 2)) == pytest.approx(16 / (40 + 40 - 16))


def test_nms_per_class_and_seam_containment():
    boxes = [_box(0, 0, score=0.9), _box(0.5, 0, score=0.8), _box(0, 0, score=0.7, cls=2), _box(40, 0, score=0.6)]
    kept = rotated_nms(boxes, iou=0.5)
    assert [(b.cx, b.cls) for b in kept] == [(0, 1), (0, 2), (40, 1)]
    # A box cut by a tile edge lies inside the whole one: low IoU, but removed by the containment rule.
    whole, part = _box(0, 0, 20, 4, score=0.9), _box(-6, 0, 8, 4, score=0.5)
    assert len(rotated_nms([whole, part], iou=0.5)) == 2
    assert rotated_nms([whole, part], iou=0.5, ios=0.8) == [whole]


def test_letterbox_pads_without_upscaling_and_decode_undoes_it():
    rgb = np.zeros((100, 200, 3), dtype=np.uint8)
    tensor, fit = letterbox(rgb, 256)
    assert tensor.shape == (3, 256, 256) and fit.scale == 1.0 and (fit.pad_x, fit.pad_y) == (28.0, 78.0)
    assert tensor[0, 0, 0] == pytest.approx(114 / 255) and tensor[0, 128, 128] == 0.0
    _, up = letterbox(rgb, 400, upscale=True)
    assert up.scale == 2.0
    out = np.zeros((5 + N_CLS, 3), dtype=np.float32)
    out[:4, 0] = [28 + 50, 78 + 20, 12, 6]  # a ship at (50, 20) of the original tile
    out[4 + 1, 0] = 0.9
    out[4 + 9, 1] = 0.1  # below the confidence threshold
    out[4 + N_CLS, 0] = 0.3
    [ship] = decode(out, fit, names=YOLO_DOTA_OBB.classes, conf=0.25)
    assert (ship.cx, ship.cy, ship.w, ship.label, ship.angle) == pytest.approx((50, 20, 12, "ship", 0.3))
    assert decode(out, Letterbox(1.0, 0, 0), names=YOLO_DOTA_OBB.classes, keep_classes={9}) == []
    with pytest.raises(ValueError, match="channels"):
        decode(out[:-1], fit, names=YOLO_DOTA_OBB.classes)


def _constant_obb_onnx(path, size, anchors):
    """A graph with the YOLO-OBB input/output shapes that answers the same anchors for any image."""
    onnx = pytest.importorskip("onnx", reason="onnx (dev extra) builds the tiny test graph")
    from onnx import TensorProto, helper, numpy_helper

    const = numpy_helper.from_array(anchors[None].astype(np.float32), "anchors")
    zero = numpy_helper.from_array(np.zeros(1, dtype=np.float32), "zero")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["anchors", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_obb", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, anchors.shape[0], anchors.shape[1]])],
        initializer=[const, zero],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def test_tiled_detection_maps_tiles_to_image_and_dedups_seams(tmp_path):
    size = 128
    anchors = np.zeros((5 + N_CLS, 2), dtype=np.float32)
    anchors[:4, 0] = [64, 64, 10, 4]  # one ship in the middle of every tile input
    anchors[4 + 1, 0] = 0.8
    anchors[:4, 1] = [64, 64, 10, 4]  # a weaker duplicate of it, removed by NMS
    anchors[4 + 1, 1] = 0.5
    path = tmp_path / "tiny.onnx"
    _constant_obb_onnx(path, size, anchors)
    card = YOLO_DOTA_OBB.model_copy(update={"input_size": size})
    clear_sessions()
    detector = OrientedDetector(card=card, path=path, device="cpu", overlap=16)
    # Tiles of 96 px core + 16 px each side over 300 x 200 px: every tile's centre pixel is its read window's (64, 64)
    # only for full tiles; each box is kept once, by the tile whose core holds it.
    rgb = np.zeros((200, 300, 3), dtype=np.uint8)
    seen = []
    boxes = detector.detect(rgb, classes={"ship"}, progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0
    assert all(b.label == "ship" for b in boxes)
    centres = sorted((round(b.cx), round(b.cy)) for b in boxes)
    assert len(centres) == len(set(centres))  # no duplicate survives
    assert all(0 <= x < 300 and 0 <= y < 200 for x, y in centres)
    assert detector.detect(rgb, classes={"plane"}) == []
    # Upsampling first and mapping back: the same boxes at half the coordinates on a half-size image.
    half = detector.detect(np.zeros((100, 150, 3), dtype=np.uint8), classes={"ship"}, upsample=2.0)
    assert sorted((round(b.cx * 2), round(b.cy * 2)) for b in half) == centres
