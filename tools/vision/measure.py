"""The offline image interpreter of ``ask_image``: it answers from pixel measurements, never from looking.

Without a vision-language model, ``ask_image`` cannot *see*; it measures instead. Per scene and over the AOI:
land-cover shares from :mod:`geovigie.tools.segment.landcover` (water, tree cover, grass, bare soil, built-up, cloud)
when the
scene has green, red and NIR bands, else the RGB-only approximations of :mod:`geovigie.tools.segment.masks` (dark blue
water,
excess-green vegetation) and the threshold cloud test of :mod:`geovigie.tools.segment.cloud`; plus the mean visible
brightness.
:func:`describe` turns these numbers into a short factual text in English or French that says plainly that it
was measured, not looked at.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from geovigie.core.errors import TerminalError, ToolInputError
from geovigie.tools.raster import Grid, RasterData, Scene, read_bands
from geovigie.tools.segment import (
    BARE,
    BUILT,
    CLOUD,
    GRASS,
    TREE,
    WATER,
    band_of,
    bands_for,
    calibrate,
    classify,
    cloud_mask,
    has_band,
    merge_bands,
    vegetation_mask,
    water_mask,
)

Language = Literal["en", "fr"]

CLASS_KEYS: dict[int, str] = {
    WATER: "water",
    TREE: "tree_cover",
    GRASS: "grass",
    BARE: "bare_soil",
    BUILT: "built_up",
    CLOUD: "cloud",
}
"""Land-cover code -> key of :attr:`SceneMeasurement.fractions_pct`."""

LABELS: dict[str, tuple[str, str]] = {
    "water": ("water", "eau"),
    "vegetation": ("vegetation", "végétation"),
    "tree_cover": ("tree cover", "couvert arboré"),
    "grass": ("grass / low vegetation", "herbe / végétation basse"),
    "built_up": ("built-up", "bâti"),
    "bare_soil": ("bare soil / sparse", "sol nu / clairsemé"),
    "cloud": ("cloud", "nuages"),
    "other": ("other", "autre"),
}
"""Fraction key -> (English, French) label."""

_FR_WORDS = {
    "le", "la", "les", "des", "du", "une", "est", "sont", "quoi", "quel", "quelle", "quels", "quelles",
    "dans", "sur", "avec", "pour", "cette", "cet", "ce", "image", "images", "voit", "voit-on", "y", "a-t-il",
    "eau", "forêt", "foret", "nuages", "bâtiments", "batiments", "champs", "montre", "décris", "decris",
    "qu'est-ce", "qu", "changé", "change", "entre", "avant", "après", "apres", "zone", "et", "ou", "où",
}  # fmt: skip
_EN_WORDS = {
    "the", "a", "an", "is", "are", "what", "which", "in", "on", "with", "for", "this", "image", "images",
    "see", "there", "water", "forest", "clouds", "buildings", "fields", "show", "describe", "changed",
    "change", "between", "before", "after", "area", "and", "or", "where", "visible", "does", "do", "look",
}  # fmt: skip

_THEMES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("water", "flood", "eau", "inond", "lake", "lac", "river", "rivi", "fleuve", "sea", "mer"), ("water",)),
    (("veget", "végét", "forest", "forêt", "foret", "tree", "arbre", "grass", "herbe", "crop", "champ", "green"),
     ("vegetation", "tree_cover", "grass")),
    (("built", "bâti", "bati", "urban", "urbain", "city", "ville", "building", "bâtiment", "batiment"),
     ("built_up",)),
    (("cloud", "nuage", "nuageu"), ("cloud",)),
]  # fmt: skip


class SceneMeasurement(BaseModel):
    """What was measured on one scene over the AOI."""

    item_id: str
    datetime: str | None
    valid_pixels: int
    fractions_pct: dict[str, float]
    """Share of valid pixels per class, in percent (keys of :data:`LABELS`)."""
    mean_brightness: float | None
    """Mean visible value: reflectance (0-1) when the scene has a scale, else fraction of the 8-bit range."""
    brightness_unit: str
    methods: list[str]
    rgb_only: bool
    """True when the scene has no NIR band: water and vegetation are rough RGB approximations."""


def detect_language(text: str) -> Language:
    """``"fr"`` or ``"en"`` from cue words and French diacritics (English on ties)."""
    folded = unicodedata.normalize("NFC", text.lower())
    words = re.findall(r"[a-zàâçéèêëîïôûùüÿœ'-]+", folded)
    fr = sum(w in _FR_WORDS for w in words) + 2 * len(re.findall(r"[àâçéèêëîïôûùüÿœ]", folded))
    en = sum(w in _EN_WORDS for w in words)
    return "fr" if fr > en else "en"


def measure_bands(scene: Scene) -> list[str]:
    """Bands :func:`measure_scene` reads: land-cover bands (or RGB) plus the cloud-screening bands.

    Raises:
        TerminalError: the scene has neither green/red/NIR nor red/green/blue bands (e.g. greyscale).
    """
    try:
        base = bands_for("landcover", scene)
    except ToolInputError as exc:
        if not scene.has_bands("red", "green", "blue"):
            raise TerminalError(
                f"Without a vision model, ask_image measures colour bands, and {scene.id} has only "
                f"{', '.join(scene.band_names())}.",
                hint="Show it with quicklook, or configure a vision model (GEOVIGIE_VLM_BASE_URL).",
            ) from exc
        base = ["red", "green", "blue"]
    return merge_bands(scene, base, bands_for("cloud", scene))


def _pct(mask: np.ndarray, total: int) -> float:
    return round(100.0 * float(mask.sum()) / total, 2) if total else 0.0


def _brightness(raster: RasterData, valid: np.ndarray) -> tuple[float | None, str]:
    names = [b for b in ("red", "green", "blue") if has_band(raster, b)]
    if not names or not valid.any():
        return None, "none"
    vis = np.mean([band_of(raster, b)[valid] for b in names], axis=0)
    if raster.scene.scale is not None:
        return round(float(vis.mean()), 4), "reflectance"
    if float(np.nanmax(vis)) <= 255:
        return round(float(vis.mean()) / 255.0, 4), "fraction of the 8-bit range"
    return None, "raw values without reflectance scale"


def measure_scene(scene: Scene, grid: Grid) -> SceneMeasurement:
    """Measure class shares and brightness of a scene on a grid (the AOI, possibly decimated).

    Raises:
        TerminalError: the scene lacks the bands any measurement needs.
        NoDataError: no valid pixel on the grid.
    """
    bands = measure_bands(scene)
    raster = read_bands(scene, bands, grid)
    valid = raster.valid
    total = int(valid.sum())
    cloud, cloud_method = cloud_mask(raster)
    methods = [cloud_method.description]
    rgb_only = not has_band(raster, "nir")
    fractions: dict[str, float] = {}
    if not rgb_only:
        params = calibrate(raster, valid=~cloud)
        classes = classify(raster, params, cloud=cloud)
        for code, key in CLASS_KEYS.items():
            if key == "built_up" and not params.has_swir:
                continue  # no SWIR: built-up is folded into bare soil, do not report a 0 % that was never measured
            fractions[key] = _pct(classes == code, total)
        fractions["vegetation"] = round(fractions["tree_cover"] + fractions["grass"], 2)
        methods.append(params.describe())
    else:
        clear = valid & ~cloud
        water, w_method = water_mask(raster, valid=clear)
        veg, v_method = vegetation_mask(raster, valid=clear & ~water)
        fractions = {"water": _pct(water, total), "vegetation": _pct(veg, total), "cloud": _pct(cloud, total)}
        fractions["other"] = round(max(0.0, 100.0 - sum(fractions.values())), 2)
        methods += [w_method.description, v_method.description]
    brightness, unit = _brightness(raster, valid)
    return SceneMeasurement(
        item_id=scene.id,
        datetime=scene.datetime,
        valid_pixels=total,
        fractions_pct=fractions,
        mean_brightness=brightness,
        brightness_unit=unit,
        methods=methods,
        rgb_only=rgb_only,
    )


def _num(value: float, lang: Language, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def _order(question: str, keys: Sequence[str]) -> list[str]:
    """Fraction keys with the ones the question is about first, then by the usual reading order."""
    q = question.lower()
    asked: list[str] = []
    for cues, themed in _THEMES:
        if any(c in q for c in cues):
            asked += [k for k in themed if k in keys and k not in asked]
    usual = ["water", "vegetation", "tree_cover", "grass", "built_up", "bare_soil", "other", "cloud"]
    return asked + [k for k in usual if k in keys and k not in asked]


SUBCLASSES: dict[str, tuple[str, ...]] = {"vegetation": ("tree_cover", "grass")}
MIN_SHOWN_PCT = 0.5
"""Classes under this share are left out of the text (unless asked about); cloud is always shown."""


def _asked(question: str) -> set[str]:
    q = question.lower()
    return {k for cues, themed in _THEMES if any(c in q for c in cues) for k in themed}


def _share(key: str, m: SceneMeasurement, lang: Language) -> str:
    fr = lang == "fr"
    text = f"{LABELS[key][fr]} {_num(m.fractions_pct[key], lang)} %"
    subs = [k for k in SUBCLASSES.get(key, ()) if m.fractions_pct.get(k, 0.0) >= MIN_SHOWN_PCT]
    if subs:
        text += " (" + ", ".join(f"{LABELS[k][fr]} {_num(m.fractions_pct[k], lang)} %" for k in subs) + ")"
    return text


def _scene_sentence(m: SceneMeasurement, question: str, lang: Language) -> str:
    fr = lang == "fr"
    asked = _asked(question)
    nested = {k for subs in SUBCLASSES.values() for k in subs if "vegetation" in m.fractions_pct}
    keys = [
        k
        for k in _order(question, list(m.fractions_pct))
        if k not in nested and (m.fractions_pct[k] >= MIN_SHOWN_PCT or k in asked or k == "cloud")
    ]
    parts = [_share(k, m, lang) for k in keys]
    date = (m.datetime or ("date inconnue" if fr else "date unknown"))[:10]
    main = max((k for k in m.fractions_pct if k not in ("vegetation", "other")), key=lambda k: m.fractions_pct[k])
    if fr:
        text = f"{m.item_id} ({date}) : {', '.join(parts)} ; classe dominante : {LABELS[main][1]}."
    else:
        text = f"{m.item_id} ({date}): {', '.join(parts)}; dominant class: {LABELS[main][0]}."
    if m.mean_brightness is not None:
        if m.mean_brightness < 0.12:
            level = "sombre" if fr else "dark"
        else:
            level = ("claire" if fr else "bright") if m.mean_brightness > 0.3 else ("moyenne" if fr else "medium")
        unit = m.brightness_unit
        if fr:
            unit = {"reflectance": "réflectance", "fraction of the 8-bit range": "fraction de la plage 8 bits"}[unit]
        name = "Luminosité visible moyenne" if fr else "Mean visible brightness"
        text += f" {name} {_num(m.mean_brightness, lang, 3)} ({unit}, {level})."
    return text


def _change_sentence(before: SceneMeasurement, after: SceneMeasurement, question: str, lang: Language) -> str:
    fr = lang == "fr"
    nested = {k for subs in SUBCLASSES.values() for k in subs}
    keys = [k for k in _order(question, list(before.fractions_pct)) if k in after.fractions_pct]
    keys = [k for k in keys if k not in nested and k != "other"]
    deltas = [
        f"{LABELS[k][fr]} {'+' if d >= 0 else '−'}{_num(abs(d), lang)} points"
        for k in keys
        if abs(d := after.fractions_pct[k] - before.fractions_pct[k]) >= 0.05
    ]
    d0, d1 = (before.datetime or "?")[:10], (after.datetime or "?")[:10]
    if not deltas:
        return f"Entre {d0} et {d1} : aucune part ne change." if fr else f"Between {d0} and {d1}: no share changes."
    return f"Entre {d0} et {d1} : {', '.join(deltas)}." if fr else f"Between {d0} and {d1}: {', '.join(deltas)}."


def describe(question: str, measurements: Sequence[SceneMeasurement], lang: Language) -> str:
    """Short factual answer from the measurements, opening with the "measured, not looked at" disclaimer."""
    fr = lang == "fr"
    lines = [
        "Réponse mesurée, pas une interprétation visuelle (aucun modèle de vision configuré) : parts des pixels "
        "valides de la zone."
        if fr
        else "Measured, not looked at (no vision model is configured): shares of the valid pixels of the area."
    ]
    if len(measurements) >= 2:
        # The change comes first: it is what a before/after question asks, and summaries get truncated.
        lines.append(_change_sentence(measurements[0], measurements[-1], question, lang))
    lines += [_scene_sentence(m, question, lang) for m in measurements]
    if any(m.rgb_only for m in measurements):
        lines.append(
            "Image RGB sans proche infrarouge : eau et végétation sont des approximations grossières."
            if fr
            else "RGB-only imagery (no near-infrared): water and vegetation are rough approximations."
        )
    lines.append(
        "Objets, dommages et détails fins ne sont pas identifiés ainsi : utilisez les outils de comptage ou de "
        "détection."
        if fr
        else "Objects, damage and fine details are not identified this way: use the counting or detection tools."
    )
    return " ".join(lines)
