"""The learned detector of ``count_objects``: the DOTA-trained YOLOv8n-OBB when its weights are present.

It replaces the classical detector of ships, vehicles (small + large) and storage tanks when the weights are found
and verified and the pixel size is in the model's range (0.1–0.6 m); otherwise the classical method runs and a
note says why. Trees and buildings have no class in the model and always use the classical method. The model is
AGPL-3.0: optional, and cited (with its measured accuracy) in the answer whenever it produced the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import numpy as np

from geovigie.core.domain import ToolOutput
from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.count.detection import DetectedClass, Detection, ModelOnlyClass, ObjectDetector
from geovigie.tools.count.detectors import get_detector
from geovigie.tools.models import (
    YOLO_DOTA_OBB,
    ModelCard,
    ModelDomainError,
    ModelUnavailableError,
    OrientedBox,
    OrientedDetector,
    WeightsIntegrityError,
)

MODEL_CLASSES: dict[str, tuple[str, ...]] = {
    "ship": ("ship",),
    "vehicle": ("small_vehicle", "large_vehicle"),
    "storage_tank": ("storage_tank",),
    "plane": ("plane",),
    "helicopter": ("helicopter",),
    "harbor": ("harbor",),
    "bridge": ("bridge",),
    "swimming_pool": ("swimming_pool",),
    "sports_field": ("tennis_court", "basketball_court", "soccer_ball_field", "baseball_diamond", "ground_track_field"),
    "roundabout": ("roundabout",),
}
"""Counted object -> DOTA classes of the detector."""
MODEL_ONLY = frozenset(get_args(ModelOnlyClass))
"""Objects without a classical method: no model, no count."""


@dataclass
class LearnedDetector:
    """Adapter of an :class:`OrientedDetector` to the ``ObjectDetector`` protocol (oriented boxes kept as polygons)."""

    model: OrientedDetector
    obj: str

    @property
    def card(self) -> ModelCard:
        """The model card."""
        return self.model.card

    @property
    def name(self) -> str:
        """Method name cited in provenance."""
        return f"{self.card.name} {self.card.version} (learned, {self.card.licence})"

    @property
    def classes(self) -> tuple[str, ...]:
        """Object classes it finds here."""
        return MODEL_CLASSES[self.obj]

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Oriented boxes of the object's classes, as detections carrying their polygon."""
        image = rgb if rgb.dtype == np.uint8 else (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
        return [_detection(b) for b in self.model.detect(image, classes=set(self.classes))]

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Thresholds and tiling of the model."""
        return {"model": self.card.name, "conf": self.model.conf, "nms_iou": self.model.iou,
                "model_tile_px": self.model.input_size, "model_overlap_px": self.model.overlap}  # fmt: skip


def _detection(box: OrientedBox) -> Detection:
    xmin, ymin, xmax, ymax = box.bounds()
    corners = tuple((float(x), float(y)) for x, y in box.corners())
    return Detection(xmin, ymin, xmax, ymax, box.score, box.label.replace("_", " "), polygon=corners)


def confined_checkpoint(checkpoint: str, settings: Settings) -> Path:
    """A user checkpoint resolved inside the models folders (``GEOVIGIE_MODELS_DIR`` or the models cache).

    The path comes from the planner, i.e. from whoever writes the question: outside those folders it is refused
    with one message, whether or not a file is there, so no server path can be probed through the tool.

    Raises:
        ToolInputError: the path leaves the models folders.
    """
    roots = [settings.models_dir.resolve(), settings.resolved_models_cache_dir.resolve()]
    given = Path(checkpoint).expanduser()
    candidates = [given.resolve()] if given.is_absolute() else [(root / given).resolve() for root in roots]
    for path in candidates:
        if any(path.is_relative_to(root) for root in roots):
            return path
    raise ToolInputError(
        "A detector checkpoint must be a file in the models folder.",
        hint="Put the .pt/.onnx/.ckpt file in GEOVIGIE_MODELS_DIR and give its name, or leave detector_path empty.",
    )


def choose_detector(
    obj: DetectedClass, checkpoint: str | None, pixel_size_m: float | None, settings: Settings
) -> tuple[ObjectDetector, list[str]]:
    """The learned detector when it applies, else the classical one, with notes saying why.

    Raises:
        ModelDomainError: an object only the learned detector finds (planes, bridges...) and it cannot run.
        ToolInputError, ConfigError: from a user checkpoint (see ``get_detector``).
    """
    if checkpoint:
        return get_detector(obj, str(confined_checkpoint(checkpoint, settings))), []
    if obj not in MODEL_CLASSES:
        return get_detector(obj), []
    card = YOLO_DOTA_OBB
    problem = "learned models are disabled (GEOVIGIE_MODELS_ENABLED=false)" if not settings.models_enabled else None
    problem = problem or card.domain_problem(pixel_size_m=pixel_size_m)
    if problem is None:
        try:
            return LearnedDetector(OrientedDetector.from_settings(card, settings), obj), []
        except ModelUnavailableError:
            problem = "its weights are not installed"
        except WeightsIntegrityError as exc:
            problem = exc.message
    if obj in MODEL_ONLY:
        raise ModelDomainError(
            f"Counting {obj.replace('_', ' ')}s needs the learned detector {card.title}, which cannot run: {problem}.",
            hint="Install its weights under GEOVIGIE_MODELS_DIR and use imagery of 0.1-0.6 m pixels.",
        )
    if not settings.models_enabled:
        return get_detector(obj), []
    return get_detector(obj), [f"The learned detector {card.title} was not used ({problem}): classical method."]


def cite_model(output: ToolOutput[Any], detector: ObjectDetector) -> ToolOutput[Any]:
    """Name the model (version, licence) and its measured accuracy in the notes, figures and provenance."""
    if not isinstance(detector, LearnedDetector):
        return output
    card = detector.card
    accuracy = card.accuracy_text(detector.obj)
    notes = [n for n in output.notes if not n.startswith("Approximate count (offline classical method")]
    notes.append(f"Counted by the learned model {card.citation()} (optional, restrictive licence); measured "
                 f"accuracy here: {accuracy}.")  # fmt: skip
    figures = [f.model_copy(update={"uncertainty": f"model {card.name}: {accuracy}"}) if i == 0 else f
               for i, f in enumerate(output.figures)]  # fmt: skip
    params = {**output.provenance.parameters, "model": _model_info(card)}
    provenance = output.provenance.model_copy(update={"parameters": params})
    result = output.result.model_copy(update={"expected_error": accuracy})
    return output.model_copy(update={"notes": notes, "figures": figures, "provenance": provenance, "result": result})


def _model_info(card: ModelCard) -> dict[str, Any]:
    return {"name": card.name, "title": card.title, "version": card.version, "licence": card.licence,
            "restrictive": card.restrictive, "source": card.source,
            "accuracy": [a.model_dump() for a in card.accuracy]}  # fmt: skip
