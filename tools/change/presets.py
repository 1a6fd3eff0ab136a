"""Change presets: what each one measures, and the plan (bands, index, method, masks) for a pair of scenes.

A preset names a change *meaning*: flood = water appears (MNDWI/NDWI gain), burn = dNBR increase, deforestation
= vegetation disappears (NDVI loss), urban = built-up change (CVA gated to non-vegetated / non-water surfaces,
direction from NDBI-NDVI), generic = any spectral change (CVA on all common bands). When the bands a preset
needs are missing, the plan falls back to change-vector analysis and says so in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from geovigie.core.errors import ToolInputError
from geovigie.tools.change import methods as cm
from geovigie.tools.raster import Scene
from geovigie.tools.segment import bands_for, index_bands, merge_bands

Preset = Literal["flood", "burn", "deforestation", "urban", "generic"]
MethodName = Literal["index_difference", "cva"]

_ATMOSPHERIC = frozenset({"coastal", "nir09", "cirrus"})
_SPECTRAL = ("blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22")


@dataclass(frozen=True)
class PresetSpec:
    """What a preset measures."""

    indices: tuple[tuple[str, float], ...]
    """Candidate (index, sign), first computable one wins; sign +1: an index increase is the preset's change
    (GAIN class), -1: a decrease is. 'builtup' = NDBI change minus NDVI change."""
    state: Literal["water", "vegetation"] | None
    """GAIN only where the state appears (water) or disappears (vegetation); LOSS the other way round."""
    cva_bands: tuple[str, ...]
    default_method: MethodName
    floor: float | None
    """Smallest index change reported (dNBR 0.1 = USGS low severity)."""
    smooth_sigma: float
    """Gaussian σ (px) applied to index differences (CVA magnitudes are always smoothed)."""
    min_area_m2: float
    open_radius_px: int
    counted: tuple[int, ...]
    labels: tuple[str, str]


PRESETS: dict[str, PresetSpec] = {
    "flood": PresetSpec((("mndwi", 1.0), ("ndwi", 1.0)), "water", ("blue", "green", "red", "nir", "swir16",
                        "swir22"), "index_difference", 0.1, 0.0, 1000.0, 1, (cm.GAIN,), ("water gain", "water loss")),
    "burn": PresetSpec((("nbr", -1.0),), None, ("red", "nir", "swir16", "swir22"), "index_difference", 0.1, 0.0,
                       5000.0, 1, (cm.GAIN,), ("burn (dNBR increase)", "regrowth (NBR increase)")),
    "deforestation": PresetSpec((("ndvi", -1.0),), "vegetation", ("green", "red", "nir", "swir16"),
                                "index_difference", 0.1, 0.0, 5000.0, 1, (cm.GAIN,),
                                ("vegetation loss", "vegetation gain")),
    # 10 m bands and a 2 px opening were chosen on the OSCD tuning cities (benchmarks/accuracy_change.py).
    "urban": PresetSpec((("builtup", 1.0), ("ndvi", -1.0)), None, ("blue", "green", "red", "nir"), "cva", None,
                        cm.SMOOTH_SIGMA, 100.0, 2, (cm.GAIN, cm.LOSS), ("built-up gain", "built-up loss")),
    # Generic change has no object size: only the pixel-scale opening cleans it (no minimum mapping unit).
    "generic": PresetSpec((), None, _SPECTRAL, "cva", None, cm.SMOOTH_SIGMA, 0.0, 2, (cm.GAIN,),
                          ("change", "change")),
}  # fmt: skip


@dataclass
class ChangePlan:
    """Resolved computation for one pair: bands, method, index, masks."""

    preset: Preset
    method: MethodName
    threshold_method: cm.ThresholdMethod
    index: str | None
    sign: float
    cva_bands: list[str]
    bands_before: list[str]
    bands_after: list[str]
    state: Literal["water", "vegetation"] | None
    urban_gate: bool
    burn_gate: bool
    cloud: bool
    min_area_m2: float
    spec: PresetSpec
    notes: list[str] = field(default_factory=list)


def _common_bands(before: Scene, after: Scene, wanted: tuple[str, ...]) -> list[str]:
    return [b for b in wanted if before.has_bands(b) and after.has_bands(b)]


def _all_common(before: Scene, after: Scene) -> list[str]:
    names = [n for n in dict.fromkeys(before.band_names()) if n not in _ATMOSPHERIC and after.has_bands(n)]
    return merge_bands(before, names)


def _index_ok(before: Scene, after: Scene, name: str) -> bool:
    need = ("swir16", "nir", "red") if name == "builtup" else index_bands(name)
    return all(s.has_bands(*need) for s in (before, after))


def _can(target: str, *scenes: Scene) -> bool:
    try:
        for s in scenes:
            bands_for(target, s)
    except ToolInputError:
        return False
    return True


def plan_change(
    before: Scene,
    after: Scene,
    preset: Preset,
    method: Literal["auto", "index_difference", "cva"] = "auto",
    *,
    threshold_method: cm.ThresholdMethod = "otsu",
    min_area_m2: float | None = None,
    cloud: bool = True,
) -> ChangePlan:
    """Decide bands, index and method for a pair, falling back to CVA (with a note) when bands are missing.

    Raises:
        ToolInputError: the two images share no usable band, or index differencing is impossible.
    """
    spec = PRESETS[preset]
    notes: list[str] = []
    index, sign = next(((i, s) for i, s in spec.indices if _index_ok(before, after, i)), (None, 1.0))
    if spec.indices and index is None:
        names = "/".join(i for i, _ in spec.indices)
        notes.append(f"The {preset} index ({names}) needs bands these images lack: change-vector analysis used.")
    chosen: MethodName = spec.default_method if method == "auto" else method
    if chosen == "index_difference" and index is None:
        if method == "auto":
            chosen = "cva"
        elif preset == "generic" and _index_ok(before, after, "ndvi"):
            index = "ndvi"
        else:
            raise ToolInputError(
                f"Index differencing is impossible for preset {preset!r} with these bands "
                f"({', '.join(before.band_names())}).",
                hint="Use method='cva' (works on any common bands) or images with red/NIR/SWIR bands.",
            )
    cva = _common_bands(before, after, spec.cva_bands) if preset != "generic" else _all_common(before, after)
    if len(cva) < 2:
        cva = _all_common(before, after)
    if not cva:
        raise ToolInputError(
            f"{before.id} and {after.id} have no band in common.",
            hint="Compare two images of the same sensor or with common bands (red, green, blue, nir...).",
        )
    state = spec.state if spec.state and _can(spec.state, before, after) else None
    if spec.state and state is None:
        notes.append(f"No {spec.state} mask possible with these bands: change is not restricted to {spec.state}.")
    if preset == "burn" and index is None:
        notes.append("Burn without NIR/SWIR: darkening detected by CVA, not burn-specific.")
    urban_gate = preset == "urban" and _can("water", before, after) and _can("vegetation", before, after)
    burn_gate = preset == "burn" and _can("water", before, after)
    reflectance = before.scale is not None and after.scale is not None
    cloud_ok = cloud and reflectance and _can("cloud", before, after)
    if cloud and not reflectance:
        # The 8-bit cloud test (near-saturated grey) takes new bright roofs for cloud (measured on LEVIR-CD).
        notes.append("No cloud screening: the images are not calibrated reflectance (8-bit display values).")
    elif cloud and not cloud_ok:
        notes.append("No cloud screening: the images lack the bands a cloud test needs.")
    idx_bands = ["swir16", "nir", "red"] if index == "builtup" else list(index_bands(index)) if index else []

    def read_list(scene: Scene) -> list[str]:
        water = state == "water" or urban_gate or burn_gate
        extra = [bands_for(t, scene) for t, need in (("water", water), ("vegetation", state == "vegetation" or
                 urban_gate)) if need]  # fmt: skip
        clouds = [bands_for("cloud", scene)] if cloud_ok else []
        return merge_bands(scene, cva, idx_bands, *extra, *clouds)

    mmu = spec.min_area_m2 if min_area_m2 is None else float(min_area_m2)
    return ChangePlan(preset, chosen, threshold_method, index, sign, cva, read_list(before), read_list(after), state,
                      urban_gate, burn_gate, cloud_ok, mmu, spec, notes)  # fmt: skip
