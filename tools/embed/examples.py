"""The ``map_from_examples`` tool: a class map from a few labelled places, on embeddings and on raw bands."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import ToolInputError
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.embed.classifier import Classifier, fit_logistic
from geovigie.tools.embed.common import SHORT_NAMES, ModelName, embedded, executions, method_name, model_info
from geovigie.tools.embed.inputs import series
from geovigie.tools.embed.regions import Place, mask_of
from geovigie.tools.embed.service import EmbeddingMap
from geovigie.tools.raster import Execution, hex_legend, map_picture, read_bands

PALETTE = [(40, 150, 60), (230, 200, 60), (40, 100, 220), (210, 50, 50), (160, 90, 200), (240, 140, 40)]


class LabelledPlace(Place):
    """One labelled example: a class name and a point, box or polygon."""

    label: str = Field(min_length=1, max_length=40, description="Class name, e.g. forest, fields, greenhouses.")


class MapFromExamplesInput(BaseModel):
    """Arguments of ``map_from_examples``."""

    item_id: str = Field(description="Catalog item id of the scene to map.")
    examples: list[LabelledPlace] = Field(
        min_length=2, max_length=200, description="Labelled places, at least one for each of two classes."
    )
    bbox: BBox | None = Field(default=None, description="AOI [west, south, east, north]; None = whole scene.")
    model: ModelName = Field(
        default="presto",
        description="Embedding model: presto (per 10 m pixel) or galileo_nano (per 40 m patch, with its context).",
    )


class ClassShare(BaseModel):
    """One class of the map."""

    label: str
    examples: int
    training_pixels: int
    pixels: int
    fraction: float
    area_m2: float | None
    mean_confidence: float


class MapFromExamplesResult(BaseModel):
    """Payload of ``map_from_examples``."""

    item_id: str
    classes: list[ClassShare]
    mean_confidence: float
    agreement_with_raw: float
    """Share of pixels where the embedding map and the raw-band map give the same class."""
    holdout_accuracy_embeddings: float | None
    """Leave-one-example-out accuracy on the examples' pixels (None with a single example per class)."""
    holdout_accuracy_raw: float | None
    model: dict[str, Any]


def _holdout(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, classes: list[str]) -> float | None:
    """Accuracy when each example is predicted by a classifier trained on the others (pixel-weighted)."""
    right = total = 0
    for g in np.unique(groups):
        test = groups == g
        if len(np.unique(labels[~test])) < len(classes):
            continue  # the only example of its class: nothing to learn it from
        clf = fit_logistic(features[~test], labels[~test], classes)
        right += int((clf.predict(features[test]) == labels[test]).sum())
        total += int(test.sum())
    return round(right / total, 4) if total else None


def _raw_features(emb: EmbeddingMap, ctx: ToolContext) -> np.ndarray:
    """The same pixels as normalised raw bands (+ NDVI), the baseline the embeddings are compared with."""
    scene = get_scene(ctx.db, emb.item_ids[0])
    x, mask = series([read_bands(scene, emb.bands, emb.grid)])
    keep = [i for i in range(x.shape[2]) if not mask[:, 0, i].all()]
    return x[:, 0, keep]


@geo_tool(name="map_from_examples", input_model=MapFromExamplesInput)
def map_from_examples(args: MapFromExamplesInput, ctx: ToolContext) -> ToolOutput[MapFromExamplesResult]:
    """Map classes over a scene from a few labelled examples (points, boxes or polygons per class).

    Use it for "map forest vs fields from these points", "cartographie les serres à partir de ces exemples":
    a logistic regression is fitted on Presto foundation-model embeddings of the examples' pixels and applied to
    every pixel; the same classifier on the raw bands is run beside it so the answer shows what the model adds
    (leave-one-example-out accuracy of both, and how often they agree). Needs Sentinel-2 (or Sentinel-1) at
    5-40 m, and at least two classes.

    Returns per-class area, share and mean confidence, the held-out accuracies, and artifacts: the class map
    (COG, band 1 class index + 1, band 2 confidence x 100) and a PNG with legend.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    scene = get_scene(ctx.db, args.item_id)
    classes = sorted({e.label for e in args.examples})
    if len(classes) < 2:
        raise ToolInputError(
            f"All examples are labelled {classes[0]!r}: a map needs at least two classes.",
            hint="Add examples of what is not that class (e.g. forest and fields).",
        )
    progress = lambda f, m: ctx.progress(0.05 + 0.7 * f, m)  # noqa: E731 - a one-line callback
    emb = embedded(scene, bbox, ctx.settings, progress, tile_size=ctx.settings.tile_size, model=args.model,
                   execution=Execution.from_context(ctx, tool="map_from_examples"))  # fmt: skip
    h, w = emb.grid.shape
    feats = emb.vectors.reshape(h * w, -1)
    raw = _raw_features(emb, ctx)
    pix, labels, groups = [], [], []
    for g, example in enumerate(args.examples):
        region = (mask_of(example, emb.grid) & emb.valid).reshape(-1)
        if not region.any():
            raise ToolInputError(f"Example {g + 1} ({example.label}) covers no valid pixel.", hint="Move it.")
        idx = np.flatnonzero(region)
        pix.append(idx)
        labels.append(np.full(len(idx), classes.index(example.label)))
        groups.append(np.full(len(idx), g))
    index, y, grp = np.concatenate(pix), np.concatenate(labels), np.concatenate(groups)
    ctx.progress(0.8, "fitting the classifiers")
    on_emb, on_raw = fit_logistic(feats[index], y, classes), fit_logistic(raw[index], y, classes)
    valid = emb.valid.reshape(-1)
    prob = _apply(on_emb, feats, valid)
    raw_class = _apply(on_raw, raw, valid).argmax(axis=1)
    cls, conf = prob.argmax(axis=1), prob.max(axis=1)
    px_area = emb.grid.pixel_area_m2()
    n_valid = int(valid.sum())
    shares = []
    for k, name in enumerate(classes):
        sel = valid & (cls == k)
        n = int(sel.sum())
        shares.append(
            ClassShare(
                label=name,
                examples=sum(1 for e in args.examples if e.label == name),
                training_pixels=int((y == k).sum()),
                pixels=n,
                fraction=round(n / n_valid, 6) if n_valid else 0.0,
                area_m2=n * px_area if px_area is not None else None,
                mean_confidence=round(float(conf[sel].mean()), 4) if n else 0.0,
            )
        )
    result = MapFromExamplesResult(
        item_id=scene.id,
        classes=shares,
        mean_confidence=round(float(conf[valid].mean()), 4),
        agreement_with_raw=round(float((cls[valid] == raw_class[valid]).mean()), 4),
        holdout_accuracy_embeddings=_holdout(feats[index], y, grp, classes),
        holdout_accuracy_raw=_holdout(raw[index], y, grp, classes),
        model=model_info(emb.card),
    )
    ctx.progress(0.9, "writing the class map")
    return _output(args, ctx, emb, result, cls.reshape(h, w), conf.reshape(h, w), bbox)


def _apply(clf: Classifier, features: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.zeros((len(features), len(clf.classes)), np.float32)
    out[valid] = clf.proba(features[valid])
    return out


def _output(
    args: MapFromExamplesInput,
    ctx: ToolContext,
    emb: EmbeddingMap,
    result: MapFromExamplesResult,
    cls: np.ndarray,
    conf: np.ndarray,
    bbox: BBox | None,
) -> ToolOutput[MapFromExamplesResult]:
    footprint = emb.grid.bbox_wgs84
    codes = np.where(emb.valid, cls + 1, 0).astype(np.uint8)
    stack = np.stack([codes, np.where(emb.valid, np.round(conf * 100), 0).astype(np.uint8)])
    cog = ctx.artifacts.save_cog(
        stack, transform=emb.grid.transform, crs=emb.grid.crs, title=f"{emb.item_ids[0]} class map from examples",
        role="mask", nodata=0, bbox=footprint,
    )  # fmt: skip
    rgb = np.full((*cls.shape, 3), 128, np.uint8)
    entries = []
    for k, share in enumerate(result.classes):
        colour = PALETTE[k % len(PALETTE)]
        # Low-confidence pixels are drawn paler: the map says where it is unsure.
        tint = np.clip(conf[..., None], 0.4, 1.0)
        sel = emb.valid & (cls == k)
        rgb[sel] = (np.array(colour) * tint[sel] + 255 * (1 - tint[sel])).astype(np.uint8)
        area = f"{share.area_m2 / 1e6:.3f} km²" if share.area_m2 is not None else f"{share.pixels} px"
        entries.append((f"{share.label}: {area} ({share.fraction:.1%})", colour))
    picture, bounds = map_picture(rgb, emb.grid)
    png = ctx.artifacts.save_png(
        picture, title=f"{emb.item_ids[0]} classes from examples", role="overlay", bbox=bounds or footprint,
        legend=hex_legend(entries),
    )  # fmt: skip
    he, hr = result.holdout_accuracy_embeddings, result.holdout_accuracy_raw
    compare = (
        f"held-out accuracy on the examples {he:.0%} with the embeddings vs {hr:.0%} with raw bands"
        if he is not None and hr is not None
        else "give two or more examples per class to measure a held-out accuracy"
    )
    parts = ", ".join(f"{c.label} {c.fraction:.1%}" for c in result.classes)
    summary = (
        f"Map of {emb.item_ids[0]} from {len(args.examples)} examples: {parts}; mean confidence "
        f"{result.mean_confidence:.2f}; {compare}; the raw-band map agrees on {result.agreement_with_raw:.0%} "
        f"of pixels. Features: {method_name(emb)}."
    )
    unit = "m²" if emb.grid.crs is not None else "px"
    figures = [
        Figure(name=f"{c.label} area", value=round(c.area_m2 if c.area_m2 is not None else c.pixels, 1), unit=unit)
        for c in result.classes
    ]
    figures.append(Figure(name="mean confidence", value=result.mean_confidence, unit="probability"))
    if he is not None and hr is not None:
        figures += [
            Figure(name="held-out accuracy, embeddings", value=round(100 * he, 1), unit="%"),
            Figure(name="held-out accuracy, raw bands", value=round(100 * hr, 1), unit="%"),
        ]
    return ToolOutput(
        summary=summary,
        result=result,
        provenance=Provenance(
            tool="map_from_examples",
            method=f"logistic regression on {emb.card.title} embeddings; baseline: the same on raw bands + NDVI",
            scenes=[get_scene(ctx.db, emb.item_ids[0]).to_ref()],
            crs=emb.grid.crs_string,
            pixel_size_m=emb.grid.pixel_size_m,
            aoi_bbox=bbox,
            parameters={
                "model": model_info(emb.card),
                "classes": [c.label for c in result.classes],
                "bands": emb.bands,
                "execution": executions(emb)[0],
            },
        ),
        figures=figures,
        artifacts=[png, cog],
        notes=[
            *(
                [
                    f"{SHORT_NAMES[emb.card.name]} could not run ({emb.fallback}): both maps use raw bands, so "
                    "they are the same classifier."
                ]
                if emb.fallback
                else []
            ),
            "A few examples train a few-shot classifier: the map is only as good as the examples are "
            "representative; the held-out accuracy is measured on the examples themselves, not an independent map.",
            "Confidence is the classifier's probability of the chosen class, not a calibrated accuracy.",
            "Measured on labelled data (README, benchmarks/foundation.py): the embeddings do not beat raw bands "
            "everywhere; read the comparison above for this scene.",
            *executions(emb)[1],
        ],
    )
