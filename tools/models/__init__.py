"""Learned models: model cards, their resolution and inference runtimes.

Learned models: model cards (task, bands, pixel size, normalisation, licence, source, sha256, measured accuracy),
their resolution from the models folder, an installed package or an opt-in download, and CPU/GPU inference runtimes.

May import ``geovigie.core``, the tool framework and ``geovigie.tools.raster``; the analysis rooms call it, never the
reverse.

Using the registry (the whole API other rooms and helpers need):

* a **card** is a frozen :class:`ModelCard` (name, version, task, classes, bands, pixel-size range, normalisation,
  licence and whether it is restrictive, source, files with sha256 and optional URL, measured accuracy);
* built-in cards live in :mod:`geovigie.tools.models.known` (``CARDS``); add a new model's card there, or call
  ``register_card(card)`` at run time; ``get_card(name)`` / ``list_cards()`` read them;
* ``resolve(card, settings)`` finds every file (``GEOVIGIE_MODELS_DIR``, an installed package's resources, the
  cache, or a download when ``GEOVIGIE_MODELS_DOWNLOAD=true``) and verifies its SHA-256; it raises
  ``ModelUnavailableError`` (absent) or ``WeightsIntegrityError`` (wrong hash, truncated); ``availability`` says
  the same without raising or downloading;
* ``session(path, device)`` gives a cached onnxruntime session and ``run_batched`` feeds it in batches;
* ``card.check_domain(pixel_size_m=..., bands=...)`` raises ``ModelDomainError`` outside the model's domain;
  ``card.citation()`` and ``card.accuracy_text()`` are what an answer cites;
* runtimes: ``OrientedDetector`` (YOLO-OBB: letterbox, decoding, rotated NMS, tiled with seam NMS),
  ``ChangeModel`` (TinyCD ONNX; ``export_onnx``/``onnx_path`` convert the torch checkpoint once, torch optional),
  ``cloud_shadow`` (ukis-csmask at ~30 m, optional package).
"""

from geovigie.tools.models.cards import Accuracy, ModelCard, ModelFile, Task
from geovigie.tools.models.change import ChangeModel
from geovigie.tools.models.csmask import BANDS_6, CSMASK_4B, CSMASK_6B, CloudShadow, cloud_shadow, csmask_available
from geovigie.tools.models.detect import OrientedDetector
from geovigie.tools.models.errors import ModelDomainError, ModelUnavailableError, WeightsIntegrityError
from geovigie.tools.models.export import export_onnx, onnx_cache_path, onnx_path, torch_available
from geovigie.tools.models.known import CARDS, DOTA_CLASSES, TINYCD_LEVIR, TINYCD_WHU, YOLO_DOTA_OBB
from geovigie.tools.models.obb import OrientedBox, decode, letterbox, polygons, rotated_iou, rotated_nms
from geovigie.tools.models.registry import get_card, list_cards, register_card, unregister_card
from geovigie.tools.models.runtime import clear_sessions, providers, run_batched, session
from geovigie.tools.models.weights import (
    Availability,
    ResolvedFile,
    availability,
    resolve,
    resolve_file,
    sha256_of,
    verify,
)

__all__ = [
    "Accuracy",
    "Availability",
    "BANDS_6",
    "CARDS",
    "CSMASK_4B",
    "CSMASK_6B",
    "CloudShadow",
    "ChangeModel",
    "DOTA_CLASSES",
    "ModelCard",
    "ModelDomainError",
    "ModelFile",
    "ModelUnavailableError",
    "OrientedBox",
    "OrientedDetector",
    "ResolvedFile",
    "TINYCD_LEVIR",
    "TINYCD_WHU",
    "Task",
    "WeightsIntegrityError",
    "YOLO_DOTA_OBB",
    "availability",
    "clear_sessions",
    "cloud_shadow",
    "csmask_available",
    "decode",
    "export_onnx",
    "get_card",
    "letterbox",
    "list_cards",
    "onnx_cache_path",
    "onnx_path",
    "polygons",
    "providers",
    "register_card",
    "resolve",
    "resolve_file",
    "rotated_iou",
    "rotated_nms",
    "run_batched",
    "session",
    "sha256_of",
    "torch_available",
    "unregister_card",
    "verify",
]
