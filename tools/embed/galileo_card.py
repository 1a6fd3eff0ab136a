"""The Galileo nano model card, registered at import, its normalisation and its one-time ONNX export per patch size.

The checkpoint is a torch ``state_dict``; :func:`galileo_onnx` converts it once per patch size (torch extra) into
the models cache under a name keyed by the checkpoint's SHA-256, like Presto. Inference then needs onnxruntime only.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

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

GALILEO_BANDS = ("vv", "vh", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
"""The S1/S2 inputs Galileo's space-time groups take, in its channel order (NDVI, computed, follows)."""
GROUPS = 7
PATCH = 4
"""Default patch edge in pixels (40 m tokens at 10 m): finer maps than 8, four times the tokens."""
_BASE = "https://github.com/nasaharvest/galileo/raw/0f0b5b95"

GALILEO = register_card(
    ModelCard(
        name="galileo_nano",
        title="Galileo nano (NASA Harvest / Ai2)",
        version="0f0b5b95",
        task="embedding",
        classes=(),
        bands=("B02", "B03", "B04", "B08"),
        pixel_size_m=(5.0, 40.0),
        native_pixel_m=10.0,
        normalisation="S1 in dB, S2 in DN: (x - (mean - 2 std)) / (4 std) with normalization.json key '13'; "
        "NDVI from B8 and B4 unscaled; a group with a missing band is masked",
        licence="MIT",
        restrictive=False,
        source="GitHub nasaharvest/galileo, commit 0f0b5b95, data/models/nano/ and config/normalization.json",
        url="https://arxiv.org/abs/2502.09356",
        files=(
            ModelFile(
                name="galileo_nano/encoder.pt",
                sha256="eab6acacf527886a508a555bc24efe4b4a2cf91b162e84cd1c4a1807e942180c",
                size_bytes=4_189_406,
                url=f"{_BASE}/data/models/nano/encoder.pt",
            ),
            ModelFile(
                name="galileo_nano/config.json",
                sha256="8ec17cb83cb78d987b4b920b9c1c35aa245ec0f80e1abf0c22d6f77d828f431c",
                size_bytes=2_246,
                url=f"{_BASE}/data/models/nano/config.json",
            ),
            ModelFile(
                name="galileo_nano/normalization.json",
                sha256="baea3828a8750e0b570cb2fad5cd30bb249f1f001988d842cc4246860e799ff3",
                size_bytes=2_277,
                url=f"{_BASE}/config/normalization.json",
            ),
        ),
        accuracy=(
            Accuracy(
                metric="few-shot land-cover accuracy / macro F1, k=50 px per class",
                value=0.737,
                data="eo-learn Slovenia 5 dates (1 km², 10 m), patch 4, 25 px spatial blocks, 4 folds, logistic",
                held_out=True,
                note="macro F1 0.362; raw bands of the 5 dates 0.792 / 0.420: the embeddings did not help here",
            ),
            Accuracy(
                metric="few-shot water F1, k=50 px per class",
                value=0.737,
                data="Sen1Floods11 Spain_7370579 central 256², S1+S2, patch 4, left half trains, right half tests",
                held_out=True,
                note="raw bands 0.849, MNDWI > 0 0.732",
            ),
            Accuracy(
                metric="pixel retrieval P@10 (macro over classes)",
                value=0.68,
                data="eo-learn Slovenia first date, patch 4, cosine, 20 queries per class with 100+ px",
                held_out=True,
                note="raw bands 0.57, Presto 0.61",
            ),
        ),
        trained_on="Galileo pre-training set: 127 155 global S1/S2/ERA5/SRTM/Dynamic World/WorldCereal cubes",
        notes="Space-time ViT (4 blocks, 128-d); one embedding per patch (4 x 4 px by default), pooled over dates "
        "and channel groups and given to every pixel of the patch; tiles are embedded independently.",
    )
)

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _shift_div(path: str) -> tuple[np.ndarray, np.ndarray]:
    stats = json.loads(Path(path).read_text())[str(len(GALILEO_BANDS) + 1)]
    mean, std = np.array(stats["mean"], np.float64), np.array(stats["std"], np.float64)
    shift, div = mean - 2.0 * std, 4.0 * std
    # NDVI (last) is fed as computed, in [-1, 1]: Galileo's "std" normaliser leaves it out.
    shift[-1], div[-1] = 0.0, 1.0
    return shift.astype(np.float32), div.astype(np.float32)


def galileo_normalisation(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """(shift, div) for the 13 channels: ``x' = (x - shift) / div``.

    Raises:
        ModelUnavailableError: the model's files are absent.
        WeightsIntegrityError: a file with the wrong hash.
    """
    return _shift_div(str(resolve(GALILEO, settings)[2].path))


def galileo_onnx(settings: Settings, patch: int = PATCH) -> Path:
    """The ONNX graph of Galileo's encoder at this patch size, exported into the models cache on first use.

    Raises:
        ModelUnavailableError: checkpoint absent, or not yet converted and torch not installed.
        WeightsIntegrityError: checkpoint with the wrong hash.
    """
    weights = resolve(GALILEO, settings)[0]
    target = onnx_cache_path(GALILEO, weights.file.sha256, settings).with_suffix(f".p{patch}.onnx")
    if target.is_file():
        return target
    if not torch_available():
        raise ModelUnavailableError(
            "Galileo nano is a torch checkpoint that has not been converted to ONNX yet.",
            hint="pip install torch==2.13.0 (CPU) once; the conversion then happens on first use.",
        )
    from geovigie.tools.embed.galileo_net import load_galileo

    with _lock:
        if not target.is_file():
            write_galileo_onnx(load_galileo(str(weights.path), patch=patch), target)
            logger.info("onnx export model=galileo_nano patch=%d path=%s", patch, target)
    return target


def write_galileo_onnx(net: object, target: Path) -> None:
    """Export a Galileo encoder to ``target`` atomically: inputs x, missing, months; output embedding."""
    import torch

    assert isinstance(net, torch.nn.Module)
    patch = int(getattr(net, "patch"))  # noqa: B009 - the module is typed as object here (torch optional)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        side = 4 * patch
        example = (
            torch.zeros(1, side, side, 2, len(GALILEO_BANDS) + 1),
            torch.zeros(1, side // patch, side // patch, 2, GROUPS),
            torch.zeros(1, 2, dtype=torch.int64),
        )
        x_axes = {0: "batch", 1: "height", 2: "width", 3: "steps"}
        m_axes = {0: "batch", 1: "rows", 2: "cols", 3: "steps"}
        # The legacy exporter warns that it is deprecated; it is the one that handles this graph without onnxscript.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net, example, tmp, input_names=["x", "missing", "months"], output_names=["embedding"],
                opset_version=17, dynamo=False,
                dynamic_axes={"x": x_axes, "missing": m_axes, "months": {0: "batch", 1: "steps"},
                              "embedding": {0: "batch", 1: "rows", 2: "cols"}},
            )  # fmt: skip
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
