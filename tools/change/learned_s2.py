"""The learned Sentinel-2 urban-change model of ``detect_change`` (preset ``urban``), when it applies.

The network trained here on OSCD (:mod:`geovigie.tools.models.oscd_card`) replaces the classical urban CVA for a
pair of Sentinel-2 scenes at 10 m that carry its 10 bands, when its weights are found and verified and
``GEOVIGIE_MODELS_ENABLED`` is true. No weights ship in this version (their leave-one-city-out F1, 0.250, is
below the classical preset's 0.328: README), so ``choose`` returns None until ``oscd_card.OSCD_SIAMDIFF`` names
a weights file. Everything else (another preset, a series, another sensor or pixel size,
missing weights) keeps the classical method, with a note saying why when the urban preset was asked for.

The classify pass is the classical engine's: the same calibration pass (cloud screening, too-cloudy checks), the
same tiles, class values and artifacts; only the per-tile decision changes: a pixel is changed when the model's
probability reaches its threshold (chosen on its training cities); its direction (built-up gain or loss) is the
sign of the NDBI - NDVI change. No opening or minimum mapping unit is applied, as in the leave-one-city-out
evaluation that the answer cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.domain import ToolOutput
from geovigie.core.errors import ConfigError, TooCloudyError
from geovigie.core.settings import Settings
from geovigie.tools.base import ProgressFn
from geovigie.tools.change import methods as cm
from geovigie.tools.change.pair import MAX_CLOUD_FRACTION, PairOutcome, calibrate
from geovigie.tools.change.presets import ChangePlan
from geovigie.tools.change.score import clouds
from geovigie.tools.models import (
    ModelCard,
    ModelUnavailableError,
    WeightsIntegrityError,
    oscd_card,
    oscd_runtime,
    resolve,
    session,
)
from geovigie.tools.raster import NODATA, TILE_WORKERS, Execution, Grid, RasterData, Scene, run_tiled
from geovigie.tools.segment import index_of

VHR_BELOW_M = 5.0
"""Finer imagery is not a Sentinel-2 question: no note about this model there."""


@dataclass(frozen=True)
class S2ChangeModel:
    """The OSCD network, loaded, with its card."""

    card: ModelCard
    model: oscd_runtime.OscdChangeModel


def _domain_problem(scenes: list[Scene], grid: Grid, card: ModelCard) -> str | None:
    if not all(s.has_bands(*oscd_runtime.BANDS) for s in scenes):
        return "the images lack some of its 10 Sentinel-2 bands (B02-B08, B8A, B11, B12)"
    platforms = [str(s.properties.get("platform") or "") for s in scenes]
    if any(p and "sentinel-2" not in p.lower() for p in platforms):
        return f"it was trained on Sentinel-2 only (platform {', '.join(platforms)})"
    if any(s.scale is None for s in scenes):
        return "the images are not calibrated reflectance"
    return card.domain_problem(pixel_size_m=grid.pixel_size_m)


def choose(
    preset: str, method: str, scenes: list[Scene], grid: Grid, settings: Settings, notes: list[str]
) -> S2ChangeModel | None:
    """The learned model when it applies to this request, else None; ``notes`` get why it was not used."""
    if preset != "urban" or method != "auto" or len(scenes) != 2 or not settings.models_enabled:
        return None
    if grid.pixel_size_m is not None and grid.pixel_size_m < VHR_BELOW_M:
        return None  # very-high-resolution imagery: TinyCD's domain (learned.py), not a Sentinel-2 question
    card = oscd_card.OSCD_SIAMDIFF
    if card is None:
        return None  # no trained weights ship with this version (see oscd_card.py)
    problem = _domain_problem(scenes, grid, card)
    why = None
    if problem is None:
        try:
            path = resolve(card, settings)[0].path
            model = oscd_runtime.OscdChangeModel(session(path, settings.models_device), path)
        except ModelUnavailableError:
            why = "not installed"
        except (WeightsIntegrityError, ConfigError) as exc:
            why = exc.message
    if problem is not None or why is not None:
        notes.append(f"The learned urban-change model {card.title} was not used ({problem or why}): classical method.")
        return None
    if any("l2a" in (s.collection or "").lower() for s in scenes):
        notes.append(f"{card.title} was trained on Sentinel-2 L1C (top of atmosphere); on L2A its accuracy was "
                     "not measured.")  # fmt: skip
    return S2ChangeModel(card, model)


def _bands(plan_bands: list[str]) -> list[str]:
    return list(dict.fromkeys([*plan_bands, *oscd_runtime.BANDS]))


def classify_learned(plan: ChangePlan, model: oscd_runtime.OscdChangeModel, b: RasterData, a: RasterData) -> np.ndarray:
    """uint8 classes of one tile: GAIN/LOSS where the model says changed, EXCLUDED (cloud), NODATA."""
    names = list(oscd_runtime.BANDS)
    prob = model.probability(np.stack([b.band(n) for n in names]), np.stack([a.band(n) for n in names]))
    valid = b.valid & a.valid
    with np.errstate(divide="ignore", invalid="ignore"):
        builtup = [index_of(r, "swir16", "nir") - index_of(r, "nir", "red") for r in (b, a)]
    direction = np.nan_to_num(builtup[1] - builtup[0])
    classes = np.full(prob.shape, cm.NO_CHANGE, np.uint8)
    changed = prob >= model.threshold
    classes[changed & (direction >= 0)] = cm.GAIN
    classes[changed & (direction < 0)] = cm.LOSS
    classes[clouds(plan, b, a) & valid] = cm.EXCLUDED
    classes[~valid] = NODATA
    return classes


@dataclass(frozen=True)
class _LearnedTile:
    """The tile function (picklable: Dask workers reload the model from its path)."""

    plan: ChangePlan
    model: oscd_runtime.OscdChangeModel

    def __call__(self, rasters: list[RasterData]) -> np.ndarray:
        return classify_learned(self.plan, self.model, rasters[0], rasters[1])


def run(
    learned: S2ChangeModel,
    plan: ChangePlan,
    before: Scene,
    after: Scene,
    grid: Grid,
    *,
    settings: Settings,
    out_path: Path | None,
    progress: ProgressFn | None = None,
    execution: Execution | None = None,
) -> PairOutcome:
    """The classical engine's calibration and tiles, with the model deciding each pixel.

    Raises:
        NoDataError, TooCloudyError: as :func:`geovigie.tools.change.pair.run_pair`.
    """
    bands = [_bands(plan.bands_before), _bands(plan.bands_after)]
    tile_size, overlap = settings.tile_size, settings.tile_overlap
    if execution is not None:  # the cost check comes before any pixel is read
        execution.check([before, after], bands, grid, tile_size=tile_size, overlap=overlap)
    cal = calibrate(plan, before, after, grid, tile_size=tile_size, overlap=overlap, progress=progress)
    if execution is not None:
        execution.params = {"preset": plan.preset, "model": learned.card.name, "version": learned.card.version,
                            "threshold": learned.model.threshold}  # fmt: skip
    fn = _LearnedTile(plan, learned.model)

    def tiled_progress(fraction: float, message: str) -> None:
        if progress:
            progress(0.3 + 0.6 * fraction, f"learned model {message}")

    tiled = run_tiled(scenes=[before, after], bands=bands, grid=grid, fn=fn, tile_size=tile_size, overlap=overlap,
                      out_path=out_path, progress=tiled_progress, workers=TILE_WORKERS,
                      execution=execution)  # fmt: skip
    outcome = PairOutcome(plan, cal, tiled, grid, 0)
    if outcome.tiled.valid_pixels and outcome.pixels(cm.EXCLUDED) / outcome.tiled.valid_pixels > MAX_CLOUD_FRACTION:
        raise TooCloudyError(
            f"Over 80 % of the area is cloudy in {before.id} or {after.id}.",
            hint="Search clearer scenes for one or both dates.",
        )
    return outcome


def cite_s2(output: ToolOutput[Any], learned: S2ChangeModel) -> ToolOutput[Any]:
    """Name the model, its licence and its held-out accuracy in the summary, notes, figures and provenance."""
    card = learned.card
    accuracy = card.accuracy_text("leave-one-city-out")
    note = (f"Change decided by the learned model {card.title} {card.version} (trained here on {card.trained_on}; "
            f"licence {card.licence}); measured accuracy: {accuracy}.")  # fmt: skip
    info = {"name": card.name, "title": card.title, "version": card.version, "licence": card.licence,
            "restrictive": card.restrictive, "source": card.source, "file": str(learned.model.path),
            "threshold": learned.model.threshold, "accuracy": [a.model_dump() for a in card.accuracy]}  # fmt: skip
    head = output.summary.rsplit(" (", 1)[0]
    mean = next((a.value for a in card.accuracy if a.metric.startswith("mean")), None)
    held = f", leave-one-city-out F1 {mean:.2f}" if mean is not None else ""
    summary = f"{head} (learned model {card.title} {card.version}{held})."
    figures = [f.model_copy(update={"uncertainty": f"model {card.name}: {accuracy}"}) if i == 0 else f
               for i, f in enumerate(output.figures)]  # fmt: skip
    method = f"urban: learned model {card.name} {card.version} (probability >= {learned.model.threshold:g}), " + (
        "date 2 read onto date 1's grid, tiled, cloud screening as the classical method, no opening or minimum "
        "mapping unit"
    )
    provenance = output.provenance.model_copy(
        update={"method": method, "parameters": {**output.provenance.parameters, "model": info}}
    )
    result = output.result.model_copy(update={"method": f"learned:{card.name}", "threshold": learned.model.threshold})
    return output.model_copy(update={"summary": summary, "notes": [*output.notes, note], "figures": figures,
                                     "provenance": provenance, "result": result})  # fmt: skip
