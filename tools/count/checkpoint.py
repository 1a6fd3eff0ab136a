"""User-supplied detector checkpoints: ultralytics YOLO (``.pt``, ``.onnx``...) and DeepForest (trees).

The libraries are optional and imported only when a checkpoint is used; GeoVigie never downloads weights.
A checkpoint runs on the image at its native resolution: it must have been trained at a similar pixel size.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.errors import ConfigError, ToolInputError
from geovigie.tools.count.detection import Detection, to_unit_rgb

CLASS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "tree": ("tree", "trees", "alive", "dead"),
    "ship": ("ship", "ships", "boat", "boats", "vessel"),
    "vehicle": ("vehicle", "car", "small-vehicle", "large-vehicle", "small vehicle", "large vehicle", "truck", "bus",
                "van", "pickup"),
    "building": ("building", "buildings", "house", "roof"),
    "storage_tank": ("storage-tank", "storage tank", "storage_tank", "storagetank", "tank", "oil tank"),
}  # fmt: skip
"""Model class names that count as each GeoVigie class."""

YOLO_SUFFIXES = frozenset({".pt", ".onnx", ".engine", ".torchscript", ".mlpackage"})
DEEPFOREST_SUFFIXES = frozenset({".pl", ".ckpt"})


def _import(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"The detector checkpoint needs the '{package}' package, which is not installed.",
            hint=f"pip install {package} (it pulls PyTorch), or leave detector_path empty to use the offline method.",
        ) from exc


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return rgb if rgb.dtype == np.uint8 else (to_unit_rgb(rgb) * 255).astype(np.uint8)


@dataclass
class UltralyticsDetector:
    """An ultralytics YOLO model (axis-aligned or oriented boxes); keeps the classes matching the target."""

    path: Path
    target: str
    confidence: float = 0.25
    _model: Any = field(default=None, repr=False)
    _wanted: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        ultralytics = _import("ultralytics", "ultralytics")
        self._model = ultralytics.YOLO(str(self.path))
        names: dict[int, str] = dict(getattr(self._model, "names", {}) or {})
        synonyms = CLASS_SYNONYMS[self.target]
        self._wanted = {i for i, n in names.items() if str(n).lower() in synonyms}
        if not self._wanted and len(names) > 1:
            raise ToolInputError(
                f"Checkpoint {self.path.name} detects {', '.join(map(str, names.values()))}, none of which is "
                f"a {self.target}.",
                hint="Give a checkpoint trained on this object class, or leave detector_path empty.",
            )
        if not self._wanted:
            self._wanted = set(names) or {0}

    @property
    def name(self) -> str:
        """Method name for provenance."""
        return f"ultralytics YOLO checkpoint {self.path.name}"

    @property
    def classes(self) -> tuple[str, ...]:
        """The GeoVigie class it serves."""
        return (self.target,)

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Checkpoint path and confidence threshold."""
        return {"checkpoint": str(self.path), "confidence": self.confidence}

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Run the model on one image (tile)."""
        results = self._model.predict(_to_uint8(rgb), conf=self.confidence, verbose=False)
        out: list[Detection] = []
        for res in results:
            oriented = getattr(res, "obb", None)
            boxes = oriented if oriented is not None else res.boxes
            if boxes is None:
                continue
            xyxy = np.asarray(boxes.xyxy, dtype=float).reshape(-1, 4)
            conf = np.asarray(boxes.conf, dtype=float).ravel()
            cls = np.asarray(boxes.cls, dtype=int).ravel()
            for (x0, y0, x1, y1), c, k in zip(xyxy, conf, cls, strict=True):
                if int(k) in self._wanted:
                    out.append(Detection(float(x0), float(y0), float(x1), float(y1), float(c), self.target))
        return out


@dataclass
class DeepForestDetector:
    """A DeepForest tree-crown model loaded from a Lightning checkpoint (``.ckpt`` / ``.pl``)."""

    path: Path
    min_score: float = 0.3
    _model: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        deepforest_main = _import("deepforest.main", "deepforest")
        self._model = deepforest_main.deepforest.load_from_checkpoint(str(self.path))

    @property
    def name(self) -> str:
        """Method name for provenance."""
        return f"DeepForest checkpoint {self.path.name}"

    @property
    def classes(self) -> tuple[str, ...]:
        """Trees only."""
        return ("tree",)

    def parameters(self, pixel_size_m: float | None) -> dict[str, Any]:
        """Checkpoint path and score threshold."""
        return {"checkpoint": str(self.path), "min_score": self.min_score}

    def detect(self, rgb: np.ndarray, pixel_size_m: float | None) -> list[Detection]:
        """Run the model on one image (tile)."""
        frame = self._model.predict_image(image=_to_uint8(rgb).astype(np.float32))
        if frame is None:
            return []
        return [
            Detection(float(r.xmin), float(r.ymin), float(r.xmax), float(r.ymax), float(r.score), "tree")
            for r in frame.itertuples()
            if float(r.score) >= self.min_score
        ]


def load_checkpoint(path: str, target: str) -> UltralyticsDetector | DeepForestDetector:
    """A detector from a checkpoint file, chosen by extension (DeepForest for tree ``.ckpt``/``.pl``, else YOLO).

    Raises:
        ToolInputError: the file does not exist, or its format or classes do not fit.
        ConfigError: the library it needs is not installed.
    """
    file = Path(path).expanduser()
    suffix = file.suffix.lower()
    # The format is checked before the file: a planner-supplied path must not tell whether any server file
    # exists (``/etc/shadow`` gets the same answer as ``/nonexistent``), and the path is not echoed back.
    if suffix not in YOLO_SUFFIXES and not (target == "tree" and suffix in DEEPFOREST_SUFFIXES):
        raise ToolInputError(
            f"Unsupported checkpoint format {suffix or '(none)'}.",
            hint="Use an ultralytics YOLO .pt/.onnx file, or a DeepForest .ckpt for trees.",
        )
    if not file.is_file():
        raise ToolInputError(
            "No usable detector checkpoint at that path.",
            hint="Give the path of an existing .pt (ultralytics YOLO) or .ckpt (DeepForest) file, or leave "
            "detector_path empty to use the offline method.",
        )
    if target == "tree" and suffix in DEEPFOREST_SUFFIXES:
        return DeepForestDetector(file)
    if suffix in YOLO_SUFFIXES:
        return UltralyticsDetector(file, target)
    raise ToolInputError(
        f"Unsupported checkpoint format {suffix or '(none)'} for {file.name}.",
        hint="Use an ultralytics YOLO .pt/.onnx file, or a DeepForest .ckpt for trees.",
    )
