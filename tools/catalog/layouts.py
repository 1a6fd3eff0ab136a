"""Knowledge about file layouts used by the ingest: known datasets, sidecars, label files and dates.

Everything dataset-specific is data (:data:`DATASET_RULES`), so that adding a dataset is one table row.
Users describe their own files with a sidecar JSON instead: ``<file>.geovigie.json`` next to one image,
or ``geovigie.json`` in a folder (applies to every image of that folder)::

    {"collection": "my-drone", "bands": ["red", "green", "blue"], "gsd": 0.05, "datetime": "2024-05-01"}
"""

from __future__ import annotations

import calendar
import fnmatch
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

DatePrecision = Literal["second", "day", "month", "year", "unknown"]

IMAGE_EXTENSIONS = frozenset({".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".jp2", ".img", ".vrt", ".gif"})
"""Extensions opened as rasters (ENVI data files without extension are found through their header)."""

LABEL_DIR_NAMES = frozenset({"label", "labels", "cm", "mask", "masks", "gt", "groundtruth", "annotations"})
"""Folder names whose images are label rasters, not imagery."""

_LABEL_STEM = re.compile(r"(?i)(_|-)(label|labels|mask|gt|cm|labelhand)$")


@dataclass(frozen=True)
class DatasetRule:
    """What GeoVigie knows about one public dataset, keyed by its folder name and/or a file-name glob."""

    collection: str
    id_prefix: str
    folder: str | None = None
    """Path component that identifies the dataset (None: match on ``file_glob`` anywhere)."""
    file_glob: str | None = None
    bands: tuple[str, ...] | None = None
    """Band names in file order (common names, or S1 polarisations)."""
    gsd_m: float | None = None
    """Pixel size for images without georeferencing."""
    gsd_by_stem: dict[str, float] = field(default_factory=dict)
    platform: str | None = None
    level: str | None = None
    scale: float | None = None
    strip_dirs: tuple[str, ...] = ()
    """Folder names left out of item ids (``images/`` in ``dota-P0706``)."""
    label_globs: tuple[str, ...] = ()
    """Globs (relative to the dataset folder) of label files, skipped with a note."""
    skip_globs: tuple[str, ...] = ()
    """Globs of derived files (quick-looks) skipped with a note."""
    pair_roles: dict[str, str] = field(default_factory=dict)
    """Folder name -> role in a change pair (``A`` -> before)."""
    notes: tuple[str, ...] = ()


_ETM = ("blue", "green", "red", "nir", "swir16", "swir22")

DATASET_RULES: tuple[DatasetRule, ...] = (
    DatasetRule("sen1floods11-s2-l1c", "sen1floods11", file_glob="*_S2Hand.tif", platform="sentinel-2",
                level="L1C", scale=1e-4, label_globs=("*_LabelHand.tif",)),
    DatasetRule("sen1floods11-s1-grd", "sen1floods11", file_glob="*_S1Hand.tif", bands=("vv", "vh"),
                platform="sentinel-1", label_globs=("*_LabelHand.tif",), notes=("S1 backscatter in dB",)),
    DatasetRule("sen1floods11-labels", "sen1floods11", file_glob="*_LabelHand.tif",
                label_globs=("*_LabelHand.tif",)),
    DatasetRule("oscd-sentinel-2-l1c", "oscd", folder="oscd", platform="sentinel-2", level="L1C",
                scale=1e-4, label_globs=("*/cm/*",)),
    DatasetRule("landsat-pucallpa", "landsat-pucallpa", folder="landsat_pucallpa_timeseries",
                bands=("swir16", "nir", "red", "green"), platform="landsat",
                notes=("8-bit stretched values, not reflectance",)),
    DatasetRule("eolearn-sentinel-2-l1c", "eolearn-slovenia", folder="eolearn_slovenia_s2",
                platform="sentinel-2", level="L1C", scale=1.0, label_globs=("LULC.tif",)),
    DatasetRule("naip", "naip", folder="naip_5m_pair", bands=("red", "green", "blue", "nir"), platform="naip"),
    DatasetRule("naip", "naip", file_glob="m_[0-9]*_[0-9]*.tif", bands=("red", "green", "blue", "nir"),
                platform="naip"),
    DatasetRule("landsat-taizhou-cd", "landsat-taizhou", folder="landsat_taizhou_cd", bands=_ETM,
                platform="landsat-7", label_globs=("change.bmp", "unchanged.bmp"), skip_globs=("*.jpg",)),
    DatasetRule("spacenet", "spacenet", folder="spacenet_solaris_samples", platform="worldview",
                label_globs=("sample_road_raster_mask.tif",)),
    DatasetRule("neon-rgb", "neon", folder="deepforest_neon_trees", gsd_m=0.1),
    DatasetRule("dota", "dota", folder="dota_samples", gsd_by_stem={"P0706": 0.256, "P1888": 0.266},
                strip_dirs=("images",), label_globs=("labelTxt/*",)),
    DatasetRule("levir-cd", "levir", folder="levir_cd_samples", gsd_m=0.5, label_globs=("label/*",),
                pair_roles={"A": "before", "B": "after"}),
    DatasetRule("dsifn-cd", "dsifn", folder="dsifn_cd_samples", gsd_m=0.5, label_globs=("label/*",),
                pair_roles={"A": "before", "B": "after"}, notes=("pixel size 0.5 m is nominal",)),
    DatasetRule("aid", "aid", folder="aid_scene_150px",
                notes=("AID images downscaled to 150 px: pixel size unknown",)),
    DatasetRule("rasterio-samples", "rasterio", folder="rasterio_rgb_byte", platform="landsat-7"),
    DatasetRule("usgs-hro", "usgs-hro", folder="usgs_hro_colorado"),
)  # fmt: skip
"""Known datasets, most specific first."""


@dataclass(frozen=True)
class RuleMatch:
    """A rule matched to a file, with the dataset folder it was found in."""

    rule: DatasetRule
    root: Path
    """The dataset folder (or the file's folder for glob-only rules)."""

    def relative(self, path: Path) -> Path:
        """Path of ``path`` inside the dataset folder."""
        try:
            return path.relative_to(self.root)
        except ValueError:
            return Path(path.name)


def match_rule(path: Path) -> RuleMatch | None:
    """The first dataset rule that applies to ``path``, or None."""
    for rule in DATASET_RULES:
        if rule.file_glob and not fnmatch.fnmatch(path.name, rule.file_glob):
            continue
        if rule.folder is None:
            return RuleMatch(rule, path.parent)
        for parent in path.parents:
            if parent.name == rule.folder:
                return RuleMatch(rule, parent)
    return None


def _glob_hit(rel: Path, globs: tuple[str, ...]) -> bool:
    text = rel.as_posix()
    return any(fnmatch.fnmatch(text, g) or fnmatch.fnmatch(rel.name, g) for g in globs)


def skip_reason(path: Path, match: RuleMatch | None) -> str | None:
    """Why an image file is not imagery (label raster, quick-look), or None when it is imagery."""
    if match is not None:
        rel = match.relative(path)
        if _glob_hit(rel, match.rule.label_globs):
            return "label raster"
        if _glob_hit(rel, match.rule.skip_globs):
            return "quick-look / derived image"
    if path.parent.name.lower() in LABEL_DIR_NAMES:
        return "label raster"
    if _LABEL_STEM.search(path.stem):
        return "label raster"
    return None


_LABEL_TEMPLATES = (
    "../label/{stem}.png", "../labels/{stem}.png", "../labelTxt/{stem}.txt", "{stem}.csv", "{stem}.xml",
    "{stem}_truth.csv", "{name}.txt", "{stem}.geojson",
)  # fmt: skip


def find_labels(path: Path) -> list[str]:
    """Label files that sit next to an image by a common naming convention (cheap existence checks)."""
    found = [
        (path.parent / t.format(stem=path.stem, name=path.name)).resolve()
        for t in _LABEL_TEMPLATES
        if (path.parent / t.format(stem=path.stem, name=path.name)).is_file()
    ]
    if path.name.endswith("_S2Hand.tif") or path.name.endswith("_S1Hand.tif"):
        hand = path.with_name(path.name[: -len("_S2Hand.tif")] + "_LabelHand.tif")
        if hand.is_file():
            found.append(hand.resolve())
    if path.name == "sample_geotiff.tif" and (path.parent / "geotiff_labels.geojson").is_file():
        found.append((path.parent / "geotiff_labels.geojson").resolve())
    return [str(p) for p in found]


class Sidecar(BaseModel):
    """User-provided description of an image (``<file>.geovigie.json`` or folder ``geovigie.json``)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    collection: str | None = None
    bands: list[str] | None = None
    gsd: float | None = None
    datetime: str | None = None
    platform: str | None = None
    scale: float | None = None
    cloud_cover: float | None = None
    label: bool = False
    """True marks the file(s) as label rasters (skipped)."""


SIDECAR_DIR_NAME = "geovigie.json"
SIDECAR_SUFFIX = ".geovigie.json"


def sidecar_paths(path: Path) -> list[Path]:
    """Existing sidecars that apply to ``path``, most specific first."""
    candidates = [path.with_name(path.name + SIDECAR_SUFFIX), path.parent / SIDECAR_DIR_NAME]
    return [p for p in candidates if p.is_file()]


def read_sidecar(path: Path) -> tuple[Sidecar | None, str | None]:
    """The merged sidecar for ``path`` (file sidecar overrides folder sidecar), and an error note if any."""
    merged: dict[str, object] = {}
    for side in reversed(sidecar_paths(path)):
        try:
            merged.update(Sidecar.model_validate(json.loads(side.read_text())).model_dump(exclude_unset=True))
        except (OSError, ValueError, ValidationError) as exc:
            return None, f"ignored invalid sidecar {side.name}: {str(exc).splitlines()[0]}"
    return (Sidecar.model_validate(merged) if merged else None), None


@dataclass(frozen=True)
class DateInfo:
    """An acquisition date, how precise it is and where it came from."""

    value: datetime | None
    precision: DatePrecision
    source: str

    @property
    def known(self) -> bool:
        """True when a date was found."""
        return self.value is not None


UNKNOWN_DATE = DateInfo(None, "unknown", "none")

_YMD = re.compile(
    r"(?<!\d)(?:(19[7-9]\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
    r"|(19[7-9]\d|20\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]))(?!\d)"
)
_LANDSAT_LEGACY_ID = re.compile(r"L[A-Z]?\d{7,8}_\d{3}((?:19|20)\d{6})")
"""Pre-collection Landsat ids (``L71119038_03820000317``): path/row, then the acquisition date."""
_YM = re.compile(r"(?<!\d)((?:19[7-9]\d|20\d\d))(0[1-9]|1[0-2])(?!\d)")
_YEAR = re.compile(r"(?:^|[_-])((?:19[7-9]\d|20\d\d))(?:$|[_-])|^((?:19[7-9]\d|20\d\d))(?!\d)")
"""A year alone in a name: a token between separators (``tile_2003``) or a leading year (``2000TM``)."""


def parse_date_text(text: str, *, source: str) -> DateInfo | None:
    """A full date (YYYYMMDD, YYYY-MM-DD, with optional time) found in free text, or None."""
    match = _YMD.search(text)
    if not match:
        return None
    y, m, d = (match[1], match[2], match[3]) if match[1] else (match[4], match[5], match[6])
    try:
        value = datetime(int(y), int(m), int(d), tzinfo=UTC)
    except ValueError:
        return None
    time_match = re.match(r"[T ](\d\d):?(\d\d):?(\d\d)", text[match.end() :])
    if time_match:
        h, m, s = (int(g) for g in time_match.groups())
        if h < 24 and m < 60 and s < 60:
            return DateInfo(value.replace(hour=h, minute=m, second=s), "second", source)
    return DateInfo(value, "day", source)


def date_from_name(stem: str) -> DateInfo | None:
    """A date in a file name: full date, else year+month (``201404_...``), else a year (``1985``, ``tile_2003``)."""
    full = parse_date_text(stem, source="file name")
    if full:
        return full
    ym = _YM.search(stem)
    if ym:
        return DateInfo(datetime(int(ym[1]), int(ym[2]), 15, tzinfo=UTC), "month", "file name (year-month only)")
    year = _YEAR.search(stem)
    if year:
        value = int(year[1] or year[2])
        return DateInfo(datetime(value, 7, 1, tzinfo=UTC), "year", "file name (year only)")
    return None


DATE_TAGS = ("ACQUISITION_DATETIME", "ACQUISITIONDATETIME", "DATETIME_ORIGINAL", "TIFFTAG_DATETIME", "DATE")


def date_from_tags(tags: dict[str, str], descriptions: tuple[str | None, ...]) -> DateInfo | None:
    """A date from raster metadata tags, else from band descriptions (ENVI band names carry Landsat ids)."""
    upper = {k.upper(): v for k, v in tags.items()}
    for key in DATE_TAGS:
        if key in upper:
            # TIFF writes "YYYY:MM:DD HH:MM:SS"; turn the date part into ISO before parsing.
            text = re.sub(r"^(\d{4}):(\d\d):(\d\d)", r"\1-\2-\3", upper[key].strip())
            found = parse_date_text(text, source=f"metadata tag {key}")
            if found:
                return found
    for desc in descriptions:
        legacy = _LANDSAT_LEGACY_ID.search(desc or "")
        found = parse_date_text(legacy[1] if legacy else (desc or ""), source="band description")
        if found:
            return found
    return None


def period_bounds(info: DateInfo) -> tuple[datetime, datetime] | None:
    """Start and end of the period a year- or month-precision date stands for."""
    if info.value is None or info.precision not in ("year", "month"):
        return None
    v = info.value
    if info.precision == "year":
        return datetime(v.year, 1, 1, tzinfo=UTC), datetime(v.year, 12, 31, 23, 59, 59, tzinfo=UTC)
    last = calendar.monthrange(v.year, v.month)[1]
    return datetime(v.year, v.month, 1, tzinfo=UTC), datetime(v.year, v.month, last, 23, 59, 59, tzinfo=UTC)


def sen1floods11_date(path: Path) -> DateInfo | None:
    """The S1 or S2 date of a Sen1Floods11 chip from ``Sen1Floods11_Metadata.geojson`` (this or parent folders)."""
    kind = "s2_date" if path.name.endswith("_S2Hand.tif") else "s1_date"
    location = path.name.split("_", 1)[0]
    for folder in (path.parent, *path.parents[:2]):
        meta = folder / "Sen1Floods11_Metadata.geojson"
        if not meta.is_file():
            continue
        try:
            features = json.loads(meta.read_text())["features"]
        except (OSError, ValueError, KeyError):
            return None
        dates = {f["properties"].get(kind) for f in features if f["properties"].get("location") == location}
        if len(dates) == 1:
            found = parse_date_text(str(dates.pop()).replace("/", "-"), source=meta.name)
            return found
        return None
    return None
