"""Model card of the Sentinel-2 urban-change network trained here on OSCD (``benchmarks/train_oscd.py``).

:func:`build_card` describes the network for a given weights file; :data:`OSCD_SIAMDIFF` is the card of the
weights shipped with GeoVigie as package data (``tools/models/weights/oscd_siamese.onnx``; a copy under
``GEOVIGIE_MODELS_DIR/weights/`` takes precedence), or None when none are shipped. Weights ship only when the
leave-one-city-out F1 of the training recipe beats the classical urban preset on the same cities.
"""

from __future__ import annotations

from collections.abc import Sequence

from geovigie.tools.models.cards import Accuracy, ModelCard, ModelFile
from geovigie.tools.models.oscd_runtime import BANDS, PIXEL_SIZE_RANGE_M

WEIGHTS_NAME = "weights/oscd_siamese.onnx"
LOCO_DATA = "OSCD city {city} (Sentinel-2 L1C 10 m), network trained on the 7 other cities"
TRAINED_ON = "8 OSCD cities (abudhabi, aguasclaras, bercy, bordeaux, hongkong, nantes, paris, rennes)"


def build_card(*, sha256: str, size_bytes: int, loco_f1: Sequence[tuple[str, float]] = ()) -> ModelCard:
    """The card of one exported file, with its leave-one-city-out F1 per city (and their mean)."""
    accuracy = [Accuracy(metric="leave-one-city-out F1 urban change", value=f1, data=LOCO_DATA.format(city=city),
                         held_out=True) for city, f1 in loco_f1]  # fmt: skip
    if loco_f1:
        mean = sum(f1 for _, f1 in loco_f1) / len(loco_f1)
        accuracy.insert(0, Accuracy(metric="mean leave-one-city-out F1 urban change", value=round(mean, 4),
                                    data=f"OSCD, {len(loco_f1)} cities, Sentinel-2 L1C 10 m", held_out=True,
                                    note="each city scored by a network trained on the others"))  # fmt: skip
    return ModelCard(
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
        source="trained in this repository: python -m benchmarks.train_oscd --final --export (seed 0, 1 CPU thread)",
        url="https://rcdaudt.github.io/oscd/",
        files=(ModelFile(name=WEIGHTS_NAME, sha256=sha256, size_bytes=size_bytes),),
        accuracy=tuple(accuracy),
        package="geovigie.tools.models",
        trained_on=TRAINED_ON,
        notes="FC-Siam-diff-style Siamese U-Net (3 levels, 8/16/32 channels); threshold chosen on the training "
        "cities. OSCD has 24 cities (14 with public training labels); the 16 not available here (saclay_e, "
        "cupertino, pisa, beihai, beirut, mumbai and the 10 test cities) were never seen.",
    )


OSCD_SIAMDIFF: ModelCard | None = None
"""The shipped weights' card; None: no weights ship (the recipe did not beat the classical preset)."""
