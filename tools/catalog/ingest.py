"""Ingest local rasters into the catalog as STAC items.

Recognised layouts:

* one raster file with all its bands (GeoTIFF/COG, ENVI via its ``.hdr``, PNG/JPEG/BMP without CRS);
* one file per band (``<prefix>_B02.tif`` ... or ``_VV.tif``/``_VH.tif``), including OSCD city folders
  (dates from ``dates.txt``) and BigEarthNet patches (date and classes from ``*_labels_metadata.json``).

Label rasters, quick-looks and non-imagery files are skipped with a note per file. Each item is committed on
its own, and a fingerprint of its source files (paths, sizes, modification times) makes re-ingesting an
unchanged file a no-op.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

from dateutil.parser import isoparse
from pydantic import BaseModel, Field

from geovigie.core.db.store import Database
from geovigie.core.errors import ToolInputError
from geovigie.tools.catalog.items import ItemMeta, open_quiet, raster_item
from geovigie.tools.catalog.label_keywords import keywords_from_labels
from geovigie.tools.catalog.layouts import (
    IMAGE_EXTENSIONS,
    SIDECAR_DIR_NAME,
    SIDECAR_SUFFIX,
    UNKNOWN_DATE,
    DateInfo,
    RuleMatch,
    Sidecar,
    date_from_name,
    date_from_tags,
    find_labels,
    match_rule,
    read_sidecar,
    sen1floods11_date,
    sidecar_paths,
    skip_reason,
)
from geovigie.tools.catalog.products import IngestUnit, band_product_unit, date_notes, slug
from geovigie.tools.catalog.store import fingerprint_index, upsert_items

ProgressFn = Callable[[float, str], None]

INGEST_VERSION = "1"
"""Bump when item building changes, so that the next ingest rewrites every item."""

_BAND_FILE = re.compile(r"^(?P<prefix>.+)_(?P<band>B0?[1-9]|B1[0-2]|B8A|VV|VH)\.(?:tif|tiff|jp2)$", re.IGNORECASE)
_BATCH = 64
"""Items per database transaction: whole items only, without one disk sync per item."""
_ENVI_DATA_SUFFIXES = ("", ".img", ".dat", ".bsq", ".bil", ".bip", ".raw")


class SkippedFile(BaseModel):
    """A file that produced no item, and why."""

    path: str
    reason: str


class IngestReport(BaseModel):
    """What an ingest did."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        """Number of items added, updated, unchanged and files skipped."""
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "skipped": len(self.skipped),
        }


@dataclass
class _Plan:
    units: list[IngestUnit] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def _no_progress(_fraction: float, _message: str) -> None:
    return None


def ingest_paths(
    paths: list[Path],
    db: Database,
    *,
    pixel_size_m: float | None = None,
    progress: ProgressFn | None = None,
    root: Path | None = None,
) -> IngestReport:
    """Add the rasters found in files or folders (walked recursively) to the local catalog.

    Args:
        paths: Files or folders.
        db: The catalog database.
        pixel_size_m: Pixel size in metres for images without georeferencing (PNG/JPEG); overrides the
            known-dataset table and sidecars.
        progress: Called with (fraction 0..1, message) while working.
        root: Every file must resolve inside this folder (the API's data folder); without it, files found by
            walking a folder must resolve inside that folder. Symbolic links pointing elsewhere are skipped.

    Returns:
        Item ids added, updated and unchanged, and the files skipped with their reason.

    Raises:
        ToolInputError: when a path does not exist or the pixel size is not positive.
    """
    start = time.perf_counter()
    report_progress = progress or _no_progress
    if pixel_size_m is not None and not pixel_size_m > 0:
        raise ToolInputError(
            f"Pixel size must be positive (got {pixel_size_m}).", hint="Give the ground pixel size in metres."
        )
    files, escaped = _collect(paths, root)
    plan = _plan(files, pixel_size_m)
    report = IngestReport(skipped=[*escaped, *plan.skipped])
    existing = fingerprint_index(db)
    claimed: set[str] = set()
    total = max(len(plan.units), 1)
    pending: list[tuple[dict[str, Any], str, str]] = []
    for index, unit in enumerate(plan.units):
        report_progress(index / total, f"{unit.source.name}")
        if len(pending) >= _BATCH:
            upsert_items(db, pending)
            pending.clear()
        item_id = _resolve_id(unit, existing, claimed)
        try:
            fingerprint = _fingerprint(unit.files, pixel_size_m)
            previous = existing.get(item_id)
            if previous is not None and previous[0] == fingerprint:
                report.unchanged.append(item_id)
                continue
            item = unit.build(item_id)
        except Exception as exc:  # noqa: BLE001 - one unreadable file must never abort a batch ingest
            report.skipped.append(SkippedFile(path=str(unit.source), reason=f"unreadable raster: {_short(exc)}"))
            continue
        pending.append((item, str(unit.source), fingerprint))
        (report.added if previous is None else report.updated).append(item_id)
    upsert_items(db, pending)
    report_progress(1.0, "done")
    report.elapsed_s = round(time.perf_counter() - start, 2)
    return report


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _collect(paths: list[Path], root: Path | None = None) -> tuple[list[Path], list[SkippedFile]]:
    for path in paths:
        try:
            exists = Path(path).exists()
        except (OSError, ValueError):  # a name over the OS limit, a NUL byte
            exists = False
        if not exists:
            raise ToolInputError(
                f"Path {Path(path).name!r} does not exist.",
                hint="Give an existing file or folder (absolute, or relative to the current directory).",
            )
    files: set[Path] = set()
    escaped: list[SkippedFile] = []
    fence = root.resolve() if root is not None else None
    for path in (Path(p).resolve() for p in paths):
        if path.is_file():
            files.add(path)
            continue
        inside = fence or path
        # os.walk does not descend into linked folders, but lists linked files: resolve each one, and never let a
        # link take the ingest out of the folder it was pointed at.
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if name.startswith("."):
                    continue
                found = Path(folder, name)
                target = found.resolve()
                if not target.is_relative_to(inside):
                    escaped.append(SkippedFile(path=str(found), reason="symbolic link pointing outside the folder"))
                elif target.is_file():
                    files.add(found)
    return sorted(files), escaped


def _fingerprint(files: list[Path], pixel_size_m: float | None) -> str:
    digest = hashlib.sha256(f"{INGEST_VERSION}|{pixel_size_m}".encode())
    for path in sorted(set(files)):
        st = path.stat()
        digest.update(f"|{path}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()


def _resolve_id(unit: IngestUnit, existing: dict[str, tuple[str, str]], claimed: set[str]) -> str:
    """The unit's id, made unique with a short path hash when another source already uses it."""
    previous = existing.get(unit.base_id)
    item_id = unit.base_id
    if (previous is not None and previous[1] != str(unit.source)) or item_id in claimed:
        item_id = f"{unit.base_id}-{hashlib.sha1(str(unit.source).encode()).hexdigest()[:6]}"
    claimed.add(item_id)
    return item_id


def _plan(files: list[Path], pixel_size_m: float | None) -> _Plan:
    plan = _Plan()
    consumed: set[Path] = set()
    groups: dict[tuple[Path, str], dict[str, Path]] = defaultdict(dict)
    for path in files:
        m = _BAND_FILE.match(path.name)
        if m:
            groups[(path.parent, m["prefix"])][m["band"].upper()] = path
    for (folder, prefix), bands in groups.items():
        try:
            unit = band_product_unit(folder, prefix, bands)
        except (OSError, ValueError) as exc:
            plan.skipped.append(SkippedFile(path=str(folder), reason=f"unreadable product: {_short(exc)}"))
            consumed.update(bands.values())
            continue
        if unit is not None:
            plan.units.append(unit)
            consumed.update(unit.files)
    for path in files:
        if path in consumed or path.name == SIDECAR_DIR_NAME or path.name.endswith(SIDECAR_SUFFIX):
            continue
        if not _printable_name(path):
            plan.skipped.append(SkippedFile(path=repr(str(path)), reason="file name is not valid UTF-8"))
            continue
        if path.suffix.lower() == ".hdr":
            data = next((d for d in _envi_data_files(path) if d.is_file()), None)
            if data is None:
                plan.skipped.append(SkippedFile(path=str(path), reason="ENVI header without its data file"))
                continue
            consumed.update({path, data})
            _add_single(plan, data, [path], pixel_size_m)
        elif path.suffix.lower() in IMAGE_EXTENSIONS:
            _add_single(plan, path, [], pixel_size_m)
        elif not any(h.is_file() for h in _envi_headers(path)):
            kind = path.suffix.lower() or "no extension"
            plan.skipped.append(SkippedFile(path=str(path), reason=f"not imagery ({kind})"))
    return plan


def _printable_name(path: Path) -> bool:
    # Undecodable bytes become surrogates, which the database cannot store.
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _envi_data_files(header: Path) -> list[Path]:
    return [header.with_suffix(s) for s in _ENVI_DATA_SUFFIXES]


def _envi_headers(data: Path) -> list[Path]:
    return [data.with_name(data.name + s) for s in (".hdr", ".HDR")] + [data.with_suffix(".hdr")]


def _add_single(plan: _Plan, path: Path, extra_files: list[Path], pixel_size_m: float | None) -> None:
    match = match_rule(path)
    sidecar, side_note = read_sidecar(path)
    if sidecar is not None and sidecar.label:
        plan.skipped.append(SkippedFile(path=str(path), reason="label raster (sidecar)"))
        return
    reason = skip_reason(path, match) if sidecar is None else None
    if reason:
        plan.skipped.append(SkippedFile(path=str(path), reason=reason))
        return
    base_id = sidecar.id if sidecar and sidecar.id else _single_id(path, match)
    files = [path, *extra_files, *sidecar_paths(path)]
    files += [p for p in (path.parent / "Sen1Floods11_Metadata.geojson",) if p.is_file()]
    notes = [side_note] if side_note else []
    build = partial(_build_single, path, match=match, sidecar=sidecar, pixel_size_m=pixel_size_m, notes=notes)
    plan.units.append(IngestUnit(base_id=base_id, source=path, files=files, build=build))


def _single_id(path: Path, match: RuleMatch | None) -> str:
    if match is None:
        return f"{slug(path.parent.name)}-{slug(path.stem)}"
    rel = match.relative(path)
    parts = [p for p in rel.parent.parts if p not in match.rule.strip_dirs]
    return "-".join(slug(p) for p in (match.rule.id_prefix, *parts, path.stem))


def _single_date(path: Path, sidecar: Sidecar | None) -> DateInfo:
    if sidecar is not None and sidecar.datetime:
        return _sidecar_date(sidecar.datetime)
    with open_quiet(path) as ds:
        found = date_from_tags(dict(ds.tags()), tuple(ds.descriptions))
    if found is None and (path.name.endswith("_S2Hand.tif") or path.name.endswith("_S1Hand.tif")):
        found = sen1floods11_date(path)
    return found or date_from_name(path.stem) or UNKNOWN_DATE


def _sidecar_date(text: str) -> DateInfo:
    try:
        value = isoparse(text)
    except ValueError:
        return date_from_name(text) or UNKNOWN_DATE
    # A date without a zone is taken as UTC: acquisition times are given in UTC by every provider.
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return DateInfo(value, "second" if "T" in text else "day", "sidecar")


def _build_single(
    path: Path,
    item_id: str,
    *,
    match: RuleMatch | None,
    sidecar: Sidecar | None,
    pixel_size_m: float | None,
    notes: list[str],
) -> dict[str, Any]:
    rule = match.rule if match else None
    side = sidecar or Sidecar()
    date = _single_date(path, sidecar)
    gsd = pixel_size_m or side.gsd
    if gsd is None and rule is not None:
        gsd = rule.gsd_by_stem.get(path.stem, rule.gsd_m)
    extra: dict[str, Any] = {}
    labels = find_labels(path)
    if labels:
        extra["geovigie:labels"] = labels
    if keywords := keywords_from_labels(labels, path.stem):
        extra["keywords"] = keywords  # what the labels say the image shows: "the dota harbour picture"
    if rule is not None and path.parent.name in rule.pair_roles:
        extra["geovigie:pair_role"] = rule.pair_roles[path.parent.name]
        extra["geovigie:pair"] = f"{rule.id_prefix}-{slug(path.stem)}"
    meta = ItemMeta(
        item_id=item_id,
        collection=side.collection or (rule.collection if rule else "local"),
        date=date,
        mtime=path.stat().st_mtime,
        platform=side.platform or (rule.platform if rule else None),
        level=rule.level if rule else None,
        scale=side.scale if side.scale is not None else (rule.scale if rule else None),
        cloud_cover=side.cloud_cover,
        extra=extra,
        notes=(*notes, *(rule.notes if rule else ()), *date_notes(date)),
    )
    known = tuple(side.bands) if side.bands else (rule.bands if rule else None)
    return raster_item(path, meta, known_bands=known, pixel_size_m=gsd, user_pixel_size=pixel_size_m is not None)
