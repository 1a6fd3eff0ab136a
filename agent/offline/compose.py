"""Deterministic answer texts of the offline planner (French / English): the short answer first.

Every number in these texts is read from a tool result of the current turn; the evidence block (scenes,
dates, method, CRS, pixel size) is appended by :mod:`geovigie.agent.finalize`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from geovigie.agent.offline.decisions import record_result

Lang = str

_CHANGE_SUBJECT: dict[str, dict[str, str]] = {
    "flood": {"en": "New water (flooded) area", "fr": "Nouvelle surface en eau (inondée)"},
    "burn": {"en": "Burnt area", "fr": "Surface brûlée"},
    "deforestation": {"en": "Vegetation (forest) loss", "fr": "Perte de végétation (forêt)"},
    "urban": {"en": "Urban growth (new built-up surfaces)", "fr": "Croissance urbaine (nouvelles surfaces bâties)"},
    "generic": {"en": "Changed area", "fr": "Surface changée"},
}
_TARGET_NAME: dict[str, dict[str, str]] = {
    "water": {"en": "Water", "fr": "L'eau"},
    "vegetation": {"en": "Vegetation", "fr": "La végétation"},
    "built_up": {"en": "Built-up surfaces", "fr": "Les surfaces bâties"},
    "cloud": {"en": "Clouds", "fr": "Les nuages"},
    "landcover": {"en": "Land cover", "fr": "Occupation du sol"},
}


def format_area(value: float | None, unit: str, lang: Lang) -> str:
    """Area with a readable unit: m² below 1 ha, hectares below 1 km², then km²."""
    if value is None:
        return "n/a"
    if unit in ("px", "pixels"):
        return f"{value:,.0f} pixels".replace(",", " ")
    sep = "," if lang == "fr" else "."
    if value >= 1e6:
        text = f"{value / 1e6:.2f} km²"
    elif value >= 1e4:
        text = f"{value / 1e4:.1f} ha"
    else:
        text = f"{value:.0f} m²"
    return text.replace(".", sep)


def _pct(value: float | None, lang: Lang) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.1f} %" if lang == "fr" else f"{value:.1f}%"
    return text.replace(".", ",") if lang == "fr" else text


def _date(value: Any) -> str:
    return str(value)[:10] if value else "?"


def _between(before: str, after: str, lang: Lang) -> str:
    if before == "?" and after == "?":
        return "entre deux images non datées " if lang == "fr" else "between two undated images "
    return f"entre le {before} et le {after} " if lang == "fr" else f"between {before} and {after} "


def _urban_split(result: Mapping[str, Any], unit: str, lang: Lang) -> tuple[float | None, str]:
    """Urban growth is the built-up *gain*; the loss and the net change are said apart, never added to it."""
    dirs = [d for d in result.get("directions") or [] if isinstance(d, Mapping)]
    gain = next((d for d in dirs if "gain" in str(d.get("direction", "")).lower()), dirs[0] if dirs else None)
    loss = next((d for d in dirs if d is not gain), None)
    if gain is None:
        return result.get("changed_area_m2"), ""
    g = gain.get("area_m2") if unit != "px" else gain.get("pixels")
    lost = (loss.get("area_m2") if unit != "px" else loss.get("pixels")) if loss else None
    if lost is None or g is None:
        return g, ""
    net = format_area(abs(g - lost), unit, lang)
    sign = "+" if g >= lost else "-"
    if lang == "fr":
        return g, f" Surfaces bâties disparues : {format_area(lost, unit, lang)} ; bilan net : {sign}{net}."
    return g, f" Built-up surfaces lost: {format_area(lost, unit, lang)}; net change: {sign}{net}."


def _change(result: Mapping[str, Any], lang: Lang) -> str:
    preset = str(result.get("preset", "generic"))
    subject = _CHANGE_SUBJECT.get(preset, _CHANGE_SUBJECT["generic"])[lang]
    unit = str(result.get("area_unit", "m2"))
    area = result.get("changed_area_m2") if unit != "px" else result.get("changed_pixels")
    extra = ""
    if preset == "urban":
        area, extra = _urban_split(result, unit, lang)
    pct = result.get("changed_pct_of_valid")
    before, after = _date(result.get("before_date")), _date(result.get("after_date"))
    significant = (pct or 0.0) >= 0.1
    # ids stay in the evidence block: the short answer names dates, not catalog ids
    if lang == "fr":
        lead = "Oui" if significant else "Pas de changement significatif"
        return (
            f"{lead} : {subject.lower()} de {format_area(area, unit, lang)} ({_pct(pct, lang)} de la zone analysée) "
            f"{_between(before, after, lang).strip()}, en {result.get('polygon_count', 0)} polygones.{extra}"
        )
    lead = "Yes" if significant else "No significant change"
    return (
        f"{lead}: {subject.lower()} of {format_area(area, unit, lang)} ({_pct(pct, lang)} of the analysed area) "
        f"{_between(before, after, lang).strip()}, in {result.get('polygon_count', 0)} polygons.{extra}"
    )


def _segment(result: Mapping[str, Any], lang: Lang) -> str:
    target = str(result.get("target"))
    when, item = _date(result.get("datetime")), result.get("item_id")
    unit = "m2" if result.get("area_m2") is not None else "px"
    area = result.get("area_m2") if unit == "m2" else result.get("area_px")
    pct = 100 * float(result.get("fraction") or 0.0)
    if target == "landcover":
        classes = sorted(result.get("classes") or [], key=lambda c: -float(c.get("fraction", 0)))
        parts = ", ".join(f"{c.get('name')} {_pct(100 * float(c.get('fraction', 0)), lang)}" for c in classes[:5])
        if lang == "fr":
            return f"Occupation du sol de {item} ({when}) : {parts}."
        return f"Land cover of {item} ({when}): {parts}."
    name = _TARGET_NAME.get(target, {"en": target, "fr": target})[lang]
    if lang == "fr":
        return (
            f"{name} couvre {format_area(area, unit, lang)} ({_pct(pct, lang)} de la zone dégagée) le {when} ({item})."
        )
    return f"{name} covers {format_area(area, unit, lang)} ({_pct(pct, lang)} of the clear area) on {when} ({item})."


def _count(result: Mapping[str, Any], lang: Lang) -> str:
    count, obj, item = result.get("count"), str(result.get("object")), result.get("item_id")
    err = result.get("expected_error")
    density = result.get("density_per_km2")
    extra = ""
    if density is not None:
        extra = f" ({density:.1f} /km²)"
    if lang == "fr":
        names = {"tree": "arbres", "ship": "navires", "vehicle": "véhicules", "building": "bâtiments",
                 "storage_tank": "réservoirs", "water_body": "plans d'eau", "field": "parcelles",
                 "plane": "avions"}  # fmt: skip
        text = f"{count} {names.get(obj, obj)} détectés dans {item}{extra}."
        return text + (f" Erreur attendue : {err}." if err else "")
    text = f"{count} {obj.replace('_', ' ')}(s) detected in {item}{extra}."
    return text + (f" Expected error: {err}." if err else "")


def _ask_image(result: Mapping[str, Any], lang: Lang) -> str:
    return str(result.get("answer", ""))


def _quicklook(result: Mapping[str, Any], lang: Lang) -> str:
    item = result.get("item_id")
    return (
        f"Voici l'image {item} ({result.get('rendering')})."
        if lang == "fr"
        else f"Here is {item} ({result.get('rendering')})."
    )


def _similar(result: Mapping[str, Any], lang: Lang) -> str:
    places = list(result.get("places") or [])
    if not places:
        return ""
    best = places[0]
    where = ", ".join(f"{p['lat']:.5f}, {p['lon']:.5f} ({p['score']:.2f})" for p in places[:3])
    if lang == "fr":
        return f"{len(places)} lieux semblables à l'exemple trouvés ; les plus proches (similarité) : {where}."
    return f"{len(places)} places like the example found; closest (similarity): {where} on {best['item_id']}."


def _from_examples(result: Mapping[str, Any], lang: Lang) -> str:
    def area(c: Mapping[str, Any]) -> str:
        value = c.get("area_m2")
        return format_area(float(value), "m2", lang) if value is not None else format_area(c.get("pixels"), "px", lang)

    fr = lang == "fr"
    parts = ", ".join(
        f"{c['label']} {area(c)} ({100 * c['fraction']:.1f} %, {'confiance' if fr else 'confidence'} "
        f"{c.get('mean_confidence', 0.0):.2f})"
        for c in result.get("classes") or []
    )
    he, hr = result.get("holdout_accuracy_embeddings"), result.get("holdout_accuracy_raw")
    agree = result.get("agreement_with_raw")
    conf = result.get("mean_confidence")
    if fr:
        held = (
            f" Exactitude sur les exemples mis de côté : {he:.0%} avec les plongements contre {hr:.0%} avec les bandes "
            "brutes."
            if (he is not None and hr is not None)
            else " Donnez au moins deux exemples par classe pour mesurer une exactitude sur exemples mis de côté."
        )
        same = f" La carte sur bandes brutes donne la même classe sur {agree:.0%} des pixels." if agree else ""
        mean = f" Confiance moyenne {conf:.2f}." if conf is not None else ""
        return f"Carte à partir des exemples : {parts}.{mean}{held}{same}"
    held = (
        f" Held-out accuracy on the examples: {he:.0%} with the embeddings vs {hr:.0%} with raw bands."
        if (he is not None and hr is not None)
        else " Give two or more examples per class to measure a held-out accuracy."
    )
    same = f" The raw-band map gives the same class on {agree:.0%} of pixels." if agree is not None else ""
    mean = f" Mean confidence {conf:.2f}." if conf is not None else ""
    return f"Map from the examples: {parts}.{mean}{held}{same}"


_COMPOSERS: dict[str, Callable[[Mapping[str, Any], Lang], str]] = {
    "find_similar": _similar,
    "map_from_examples": _from_examples,
    "detect_change": _change,
    "count_objects": _count,
    "segment": _segment,
    "ask_image": _ask_image,
    "quicklook": _quicklook,
}


_NO_COMPARISON = {
    "en": "I could not compare two dates (no usable image before the event), so this is the state on one date only.",
    "fr": "Je n'ai pas pu comparer deux dates (aucune image exploitable avant l'événement) : "
    "voici l'état à une seule date.",
}


def compose_answer(
    steps: Sequence[Mapping[str, Any]],
    lang: Lang,
    *,
    fallback: str,
    notes: Sequence[str] = (),
    change_expected: bool = False,
) -> str:
    """The answer text from the turn's successful analysis steps (most specific first), else ``fallback``.

    Args:
        steps: The turn's tool records.
        lang: ``fr`` or ``en``.
        fallback: Text when no analysis step produced a result.
        notes: Planner notes (coverage, reference windows...).
        change_expected: The question asked for a comparison: say so when only one date could be measured.
    """
    lines: list[str] = []
    for step in steps:
        composer = _COMPOSERS.get(str(step.get("tool")))
        if composer is not None and step.get("ok"):
            text = composer(record_result(step), lang)
            if text and text not in lines:
                lines.append(text)
    # The analysis answer leads; a quicklook line only stands alone when nothing was measured.
    measured = [line for step, line in zip(_analysis_steps(steps), lines, strict=False) if step != "quicklook"]
    body = measured or lines or [fallback]
    compared = any(s.get("ok") and s.get("tool") == "detect_change" for s in steps)
    if change_expected and measured and not compared:
        body.insert(0, _NO_COMPARISON.get(lang, _NO_COMPARISON["en"]))
    extra = [n for n in dict.fromkeys(notes) if n]
    if extra:
        title = "Notes"
        body.append(f"\n**{title}**: " + " ".join(extra))
    return "\n\n".join(body)


def _analysis_steps(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(s.get("tool")) for s in steps if s.get("ok") and str(s.get("tool")) in _COMPOSERS]
