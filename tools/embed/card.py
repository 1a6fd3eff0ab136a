"""The Presto model card, registered in the model registry at import, and its one-time ONNX export.

The checkpoint is a torch ``state_dict``; :func:`presto_onnx` converts it once (torch extra) into the models cache
under a name keyed by the checkpoint's SHA-256, like TinyCD. Inference then needs onnxruntime only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path

from geovigie.core.settings import Settings
from geovigie.tools.models import (
    Accuracy,
    ModelCard,
    ModelFile,
    ModelUnavailableError,
    onnx_cache_path,
    register_card,
    resolve,
    torch_available,
)

logger = logging.getLogger(__name__)

PRESTO_BANDS = ("vv", "vh", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
"""The S1/S2 inputs Presto knows, in its channel order (ERA5, SRTM and NDVI follow; NDVI is computed)."""

PRESTO = register_card(
    ModelCard(
        name="presto",
        title="Presto (NASA Harvest)",
        version="13173d02",
        task="embedding",
        classes=(),
        bands=("B02", "B03", "B04", "B08"),
        pixel_size_m=(5.0, 40.0),
        native_pixel_m=10.0,
        normalisation="S1 (dB + 25) / 25; S2 DN / 10000; NDVI from B8 and B4; missing channels masked",
        licence="MIT",
        restrictive=False,
        source="GitHub nasaharvest/presto, commit 13173d02, data/default_model.pt",
        url="https://arxiv.org/abs/2304.14065",
        files=(
            ModelFile(
                name="presto/default_model.pt",
                sha256="559c9d76f525bdf2dd3774da8b1e7f1510769b73baacac12e9e4d8d5c67fbe65",
                size_bytes=3_321_716,
                url="https://github.com/nasaharvest/presto/raw/13173d02/data/default_model.pt",
            ),
        ),
        accuracy=(
            Accuracy(
                metric="few-shot land-cover accuracy / macro F1, k=50 px per class",
                value=0.659,
                data="eo-learn Slovenia 5 dates (1 km², 10 m), 25 px spatial blocks, 4 folds, logistic regression",
                held_out=True,
                note="macro F1 0.376; raw bands of the 5 dates 0.792 / 0.420: the embeddings did not help here",
            ),
            Accuracy(
                metric="few-shot water F1, k=50 px per class",
                value=0.812,
                data="Sen1Floods11 Spain_7370579 central 256², S1+S2, left half trains, right half tests",
                held_out=True,
                note="raw bands 0.849, MNDWI > 0 0.732; at k=5 embeddings 0.757 vs raw 0.747",
            ),
        ),
        trained_on="Presto pre-training set: global S1/S2/ERA5/SRTM/Dynamic World pixel time series (2020-2021)",
        notes="Per-pixel transformer, 128-d embeddings; single-date inputs are one time step (the model was "
        "pre-trained on 12-month series, so one date uses it outside its usual regime).",
    )
)

_lock = threading.Lock()
UNREAD_GROUPS = ("ERA5", "SRTM")


def presto_onnx(settings: Settings) -> Path:
    """The ONNX graph of Presto's encoder, exported from the checkpoint into the models cache on first use.

    Raises:
        ModelUnavailableError: checkpoint absent, or not yet converted and torch not installed.
        WeightsIntegrityError: checkpoint with the wrong hash.
    """
    weights = resolve(PRESTO, settings)[0]
    target = onnx_cache_path(PRESTO, weights.file.sha256, settings).with_suffix(".s1s2.onnx")
    if target.is_file():
        return target
    if not torch_available():
        raise ModelUnavailableError(
            "Presto is a torch checkpoint that has not been converted to ONNX yet.",
            hint="pip install torch==2.13.0 (CPU) once; the conversion then happens on first use.",
        )
    from geovigie.tools.embed.presto_net import load_presto

    with _lock:
        if not target.is_file():
            net = load_presto(str(weights.path))
            # GeoVigie reads no weather or topography: those tokens are always masked, so they leave the graph.
            net.encoder.skipped = UNREAD_GROUPS
            write_presto_onnx(net, target)
            logger.info("onnx export model=presto path=%s", target)
    return target


def write_presto_onnx(net: object, target: Path) -> None:
    """Export a Presto module to ``target`` atomically: inputs x, mask, months, latlon; output embedding."""
    import torch

    assert isinstance(net, torch.nn.Module)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        example = (
            torch.zeros(2, 1, 17),
            torch.zeros(2, 1, 17),
            torch.zeros(2, 1, dtype=torch.int64),
            torch.zeros(2, 3),
        )
        steps = {0: "batch", 1: "steps"}
        # The legacy exporter warns that it is deprecated; it is the one that handles this graph without onnxscript.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net, example, tmp, input_names=["x", "mask", "months", "latlon"], output_names=["embedding"],
                opset_version=17, dynamo=False,
                dynamic_axes={"x": steps, "mask": steps, "months": steps, "latlon": {0: "batch"},
                              "embedding": {0: "batch"}},
            )  # fmt: skip
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
