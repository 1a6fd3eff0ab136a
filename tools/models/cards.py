"""Model cards: what a learned model is, what it accepts, where its weights come from and how well it did here.

A card is data (pydantic, frozen). It carries everything an answer must cite (name, version, licence, measured
accuracy on our labelled data and what that was measured on) and what a tool must check before running the model
(input bands, pixel-size range).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from geovigie.tools.models.errors import ModelDomainError

Task = Literal["oriented_detection", "change_detection", "segmentation", "cloud_mask", "embedding"]


class ModelFile(BaseModel):
    """One weights file of a model."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Path relative to the models folder (``GEOVIGIE_MODELS_DIR``), e.g. ``yolo_dota_obb/yolov8n-obb.onnx``."""
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size_bytes: int | None = None
    url: str | None = None
    """Public URL of this exact file (used only when downloads are enabled); None: no direct download exists."""


class Accuracy(BaseModel):
    """One accuracy figure measured in this project, with what it was measured on."""

    model_config = ConfigDict(frozen=True)

    metric: str
    """E.g. ``F1 ship`` or ``pooled F1 building change``."""
    value: float
    data: str
    """The labelled data it was measured on (dataset, images, split)."""
    held_out: bool
    """True when the model never saw this data in training (as far as known)."""
    note: str = ""

    def text(self) -> str:
        """``F1 ship 0.95 on DOTA P0706 (probably in its training data)``."""
        where = "held out" if self.held_out else "probably in its training data"
        extra = f"; {self.note}" if self.note else ""
        return f"{self.metric} {self.value:.3g} on {self.data} ({where}{extra})"


class ModelCard(BaseModel):
    """A learned model known to GeoVigie."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Registry key, e.g. ``yolov8n-obb-dota``."""
    title: str
    """Human name, e.g. ``YOLOv8n-OBB (DOTA-v1)``."""
    version: str
    task: Task
    classes: tuple[str, ...]
    bands: tuple[str, ...]
    """Input bands, in order (``red``, ``green``, ``blue`` for RGB models; Sentinel-2 names otherwise)."""
    pixel_size_m: tuple[float, float]
    """Range of ground pixel sizes (metres) the model works at; imagery is resampled into it when possible."""
    native_pixel_m: float | None = None
    """Pixel size the model was trained at: tiles are resampled to it."""
    input_size: int | None = None
    """Fixed square input edge in pixels, when the network needs one."""
    normalisation: str
    licence: str
    restrictive: bool
    """True for licences that forbid some uses (AGPL-3.0 copyleft, non-commercial): the model stays optional."""
    source: str
    """Where the weights come from (repository, commit, file)."""
    url: str
    files: tuple[ModelFile, ...]
    accuracy: tuple[Accuracy, ...] = ()
    package: str | None = None
    """Installed Python package whose resources may hold the files (same relative names)."""
    trained_on: str = ""
    notes: str = ""

    def citation(self) -> str:
        """``YOLOv8n-OBB (DOTA-v1) 8.0.237, AGPL-3.0``: how an answer names the model."""
        return f"{self.title} {self.version}, licence {self.licence}"

    def accuracy_text(self, metric_contains: str = "") -> str:
        """Measured accuracy on our data (filtered by metric name), or an honest 'not measured'."""
        rows = [a for a in self.accuracy if metric_contains.lower() in a.metric.lower()]
        return "; ".join(a.text() for a in rows) if rows else "not measured on labelled data here"

    def domain_problem(self, *, pixel_size_m: float | None, bands: tuple[str, ...] | None = None) -> str | None:
        """Why this imagery is outside the model's domain, or None when it fits."""
        low, high = self.pixel_size_m
        if pixel_size_m is None:
            return f"the pixel size is unknown and {self.title} needs {low:g}–{high:g} m"
        if not low <= pixel_size_m <= high:
            return f"the pixel size {pixel_size_m:.3g} m is outside the {low:g}–{high:g} m {self.title} works at"
        if bands is not None:
            missing = [b for b in self.bands if b not in bands]
            if missing:
                return f"{self.title} needs the bands {', '.join(self.bands)} (missing: {', '.join(missing)})"
        return None

    def check_domain(self, *, pixel_size_m: float | None, bands: tuple[str, ...] | None = None) -> None:
        """Raise when the imagery is outside the model's domain.

        Raises:
            ModelDomainError: pixel size outside the range, or a required band missing.
        """
        problem = self.domain_problem(pixel_size_m=pixel_size_m, bands=bands)
        if problem is not None:
            raise ModelDomainError(
                f"Model {self.name} cannot run here: {problem}.",
                hint="The classical method is used instead; or use imagery in the model's domain.",
            )
