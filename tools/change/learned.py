"""The learned path of ``detect_change``: TinyCD building change on very-high-resolution RGB pairs.

Used for the ``urban`` preset (built-up / building change) when both images are RGB at 0.2–1 m and the TinyCD
weights are found (and converted to ONNX, see ``geovigie models export``); otherwise the classical method runs,
with a note when the imagery was VHR but the model could not be used. The ``generic`` preset (any change) stays
classical: TinyCD maps buildings only (on DSIFN-CD, whose labels are all land-cover change, F1 0.07 vs 0.37).
The class raster it writes has the same codes as the classical path (change = GAIN: TinyCD does not say whether a
building appeared or went), so the artifacts and the answer are built by the same code. Non-commercial licence:
optional, cited when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.domain import ToolOutput
from geovigie.core.settings import Settings
from geovigie.tools.base import ProgressFn
from geovigie.tools.change import methods as cm
from geovigie.tools.change.pair import PairOutcome
from geovigie.tools.change.presets import ChangePlan
from geovigie.tools.change.score import Calibration
from geovigie.tools.models import TINYCD_LEVIR, ChangeModel, ModelCard, ModelUnavailableError, WeightsIntegrityError
from geovigie.tools.raster import NODATA, Grid, RasterData, Scene, run_tiled

RGB = ["red", "green", "blue"]
LEARNED_PRESETS = ("urban",)
VHR_NOTE_BELOW_M = 5.0
"""Say why the model was not used only for imagery fine enough that a reader would expect it."""
MODEL_OVERLAP = 32


def pixel_size(grid: Grid, scene: Scene) -> float | None:
    """Ground pixel size from the georeferencing, else the catalog's."""
    return grid.pixel_size_m if grid.pixel_size_m is not None else scene.gsd


def change_model(
    plan: ChangePlan, before: Scene, after: Scene, grid: Grid, settings: Settings
) -> tuple[ChangeModel | None, list[str]]:
    """The TinyCD model when it applies to this pair, else None, with a note saying why when relevant."""
    if plan.preset not in LEARNED_PRESETS or not settings.models_enabled:
        return None, []
    card = TINYCD_LEVIR
    px = pixel_size(grid, before)
    if not (before.has_bands(*RGB) and after.has_bands(*RGB)):
        return None, []
    problem = card.domain_problem(pixel_size_m=px)
    if problem is not None:
        fine = px is not None and px < VHR_NOTE_BELOW_M
        return None, [f"The learned model {card.title} was not used ({problem}): classical method."] if fine else []
    try:
        return ChangeModel.from_settings(card, settings), []
    except (ModelUnavailableError, WeightsIntegrityError) as exc:
        return None, [f"The learned model {card.title} was not used ({exc.message}): classical method."]


def _unit_rgb(r: RasterData, scale: float) -> np.ndarray:
    return np.clip(np.stack([r.band(b) for b in RGB]) / scale, 0.0, 1.0)


def _divisor(*arrays: np.ndarray) -> float:
    """To 0–1: reflectance stays, 8-bit counts / 255, larger counts / 10 000 (16-bit reflectance products)."""
    top = max(float(np.nanmax(a)) if np.isfinite(a).any() else 0.0 for a in arrays)
    return 1.0 if top <= 1.5 else 255.0 if top <= 255.0 else 10_000.0


def run_learned_pair(
    model: ChangeModel,
    plan: ChangePlan,
    before: Scene,
    after: Scene,
    grid: Grid,
    *,
    out_path: Path | None,
    progress: ProgressFn | None = None,
) -> PairOutcome:
    """TinyCD over the pair, tiled at ~512 px; the class raster (GAIN = change) goes to ``out_path``."""

    def fn(rasters: list[RasterData]) -> np.ndarray:
        b, a = rasters
        valid = b.valid & a.valid
        scale = _divisor(b.data, a.data)
        prob = model.probability(_unit_rgb(b, scale), _unit_rgb(a, scale))
        classes = np.where(prob > model.threshold, cm.GAIN, cm.NO_CHANGE).astype(np.uint8)
        classes[~valid] = NODATA
        return classes

    def tiled_progress(fraction: float, message: str) -> None:
        if progress:
            progress(0.05 + 0.85 * fraction, f"{model.card.name} {message}")

    tiled = run_tiled(scenes=[before, after], bands=[RGB, RGB], grid=grid, fn=fn,
                      tile_size=512 - 2 * MODEL_OVERLAP, overlap=MODEL_OVERLAP, out_path=out_path,
                      progress=tiled_progress)  # fmt: skip
    stats = cm.RadiometricStats(*(np.zeros(3) for _ in range(5)))
    return PairOutcome(plan, Calibration(stats=stats, threshold=model.threshold), tiled, grid, 0)


def vhr_pair(
    plan: ChangePlan,
    before: Scene,
    after: Scene,
    grid: Grid,
    settings: Settings,
    notes: list[str],
    out_path: Path,
    progress: ProgressFn | None,
) -> tuple[PairOutcome, ModelCard] | None:
    """Run TinyCD on the pair when it applies (notes gain the reason when it does not), else None."""
    model, model_notes = change_model(plan, before, after, grid, settings)
    notes += [n for n in model_notes if n not in notes]
    if model is None:
        return None
    return run_learned_pair(model, plan, before, after, grid, out_path=out_path, progress=progress), model.card


def cite_change_model(output: ToolOutput[Any], card: ModelCard | None) -> ToolOutput[Any]:
    """Name the model (version, licence) and its measured accuracy in the notes, figures and provenance."""
    if card is None:
        return output
    accuracy = card.accuracy_text("building")
    notes = [*output.notes,
             f"Change mapped by the learned model {card.citation()} (optional, restrictive licence), trained on "
             f"{card.trained_on}; measured here: {accuracy}. It maps building change only, without direction "
             "(new and demolished buildings are both counted as change)."]  # fmt: skip
    figures = [f.model_copy(update={"uncertainty": f"model {card.name}: {accuracy}"}) for f in output.figures]
    info = {"name": card.name, "title": card.title, "version": card.version, "licence": card.licence,
            "restrictive": card.restrictive, "source": card.source,
            "accuracy": [a.model_dump() for a in card.accuracy]}  # fmt: skip
    params = {**output.provenance.parameters, "model": info}
    provenance = output.provenance.model_copy(update={"parameters": params, "method": f"{card.name} {card.version}"})
    return output.model_copy(update={"notes": notes, "figures": figures, "provenance": provenance})
