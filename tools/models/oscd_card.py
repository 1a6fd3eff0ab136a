"""Model card of the Sentinel-2 urban-change network trained here on OSCD (``benchmarks/train_oscd.py``).

The weights ship with GeoVigie as package data (``tools/models/weights/oscd_siamese.onnx``, 0.2 MB); a copy under
``GEOVIGIE_MODELS_DIR/weights/`` takes precedence. The accuracy figures are leave-one-city-out: for each of the 8
OSCD cities available here, a network trained the same way on the 7 others was scored on it (fewer training steps
per fold than the shipped model, which was trained on all 8; see the benchmark's docstring).
"""

from __future__ import annotations

from geovigie.tools.models.cards import Accuracy, ModelCard, ModelFile
from geovigie.tools.models.oscd_runtime import BANDS, PIXEL_SIZE_RANGE_M

_LOCO_DATA = "OSCD, Sentinel-2 L1C 10 m, leave-one-city-out (trained on the 7 other cities)"

OSCD_SIAMDIFF = ModelCard(
    name="oscd-siamdiff-s2",
    title="GeoVigie Siam-diff U-Net (OSCD, Sentinel-2)",
    version="1.0",
    task="change_detection",
    classes=("urban change",),
    bands=BANDS,
    pixel_size_m=PIXEL_SIZE_RANGE_M,
    native_pixel_m=10.0,
    normalisation="reflectance (L1C DN x 1e-4) of both dates on date 1's 10 m grid; per-band mean/std of the "
    "training cities inside the graph; no data filled with the training mean",
    licence="CC BY-NC-SA (trained on the OSCD change maps, released under CC BY-NC-SA)",
    restrictive=True,
    source="trained in this repository: python -m benchmarks.train_oscd --final --export (seed 0, 2 CPU threads)",
    url="https://rcdaudt.github.io/oscd/",
    files=(
        ModelFile(
            name="weights/oscd_siamese.onnx",
            sha256="0000000000000000000000000000000000000000000000000000000000000000",
        ),
    ),
    accuracy=(),
    package="geovigie.tools.models",
    trained_on="8 OSCD cities (abudhabi, aguasclaras, bercy, bordeaux, hongkong, nantes, paris, rennes)",
    notes="FC-Siam-diff-style Siamese U-Net (3 levels, 8/16/32 channels), probability threshold 0.5. OSCD has "
    "24 cities (14 with public training labels); the 16 not available here (e.g. saclay_e, cupertino, pisa, beihai, "
    "beirut, mumbai and the 10 test cities) were never seen: its accuracy there is unknown.",
)
