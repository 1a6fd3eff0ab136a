"""Torch checkpoints to ONNX, once, into the models cache; runtime inference then needs onnxruntime only.

A card whose weights are a ``.pth`` checkpoint (TinyCD) is converted with the architecture written in
:mod:`~geovigie.tools.models.tinycd_net` (torch is an optional extra: ``pip install torch==2.13.0``). The ONNX file
is named after the checkpoint's SHA-256, so a replaced checkpoint is converted again. Conversion happens with
``geovigie models export NAME`` or automatically on first use when torch is installed.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path

from geovigie.core.settings import Settings
from geovigie.tools.models.cards import ModelCard
from geovigie.tools.models.errors import ModelUnavailableError
from geovigie.tools.models.weights import resolve

logger = logging.getLogger(__name__)

OPSET = 17
_lock = threading.Lock()


def torch_available() -> bool:
    """Whether the optional torch extra is installed (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def onnx_cache_path(card: ModelCard, sha256: str, settings: Settings) -> Path:
    """Where the ONNX conversion of a checkpoint with this hash lives."""
    return settings.resolved_models_cache_dir / "onnx" / f"{card.name}-{sha256[:16]}.onnx"


def onnx_path(card: ModelCard, settings: Settings, *, convert: bool = True) -> Path:
    """The ONNX graph of a card: its own file, or the cached conversion of its checkpoint (made when needed).

    Raises:
        ModelUnavailableError: weights absent, or a checkpoint not yet converted and torch not installed.
        WeightsIntegrityError: weights with the wrong hash.
    """
    weights = resolve(card, settings)[0]
    if weights.path.suffix == ".onnx":
        return weights.path
    target = onnx_cache_path(card, weights.file.sha256, settings)
    if target.is_file():
        return target
    if not convert or not torch_available():
        raise ModelUnavailableError(
            f"Model {card.name} is a torch checkpoint that has not been converted to ONNX yet.",
            hint=f"pip install torch==2.13.0 (CPU), then `geovigie models export {card.name}`.",
        )
    return export_checkpoint(card, weights.path, target)


def export_onnx(card: ModelCard, settings: Settings) -> Path:
    """Convert a card's checkpoint to ONNX in the cache (no-op when done) and return the ONNX path.

    Raises:
        ModelUnavailableError: weights absent or torch missing.
    """
    return onnx_path(card, settings, convert=True)


def export_checkpoint(card: ModelCard, checkpoint: Path, target: Path) -> Path:
    """Build the card's network in torch, load the checkpoint and write the ONNX graph (dynamic batch and size).

    Raises:
        ModelUnavailableError: no torch architecture is known for this card's task.
    """
    if card.task != "change_detection" or not card.name.startswith("tinycd"):
        raise ModelUnavailableError(
            f"No torch architecture is written for model {card.name}.", hint="Provide an ONNX file instead."
        )
    import torch

    from geovigie.tools.models.tinycd_net import load_tinycd

    with _lock:
        if target.is_file():
            return target
        net = load_tinycd(str(checkpoint))
        write_tinycd_onnx(net, target)
    logger.info("onnx export model=%s path=%s", card.name, target)
    del torch
    return target


def write_tinycd_onnx(net: object, target: Path) -> None:
    """Export a TinyCD module to ``target`` atomically (inputs ``before``/``after``, output ``change``)."""
    import torch

    assert isinstance(net, torch.nn.Module)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        example = (torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))
        axes = {0: "batch", 2: "height", 3: "width"}
        # The TorchScript exporter warns that instance norm uses input statistics: that is what TinyCD does.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net, example, tmp, input_names=["before", "after"], output_names=["change"], opset_version=OPSET,
                dynamic_axes={"before": axes, "after": axes, "change": axes}, dynamo=False,
            )  # fmt: skip
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
