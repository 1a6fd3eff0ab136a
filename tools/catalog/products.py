"""Products stored as one file per band: OSCD date folders, BigEarthNet patches, SAFE-like folders."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from geovigie.tools.catalog.items import ItemMeta, band_product_item
from geovigie.tools.catalog.label_keywords import keywords_from_labels
from geovigie.tools.catalog.layouts import UNKNOWN_DATE, DateInfo, date_from_name, parse_date_text


@dataclass
class IngestUnit:
    """One future item: its proposed id, the files it is made of and how to build it."""

    base_id: str
    source: Path
    files: list[Path]
    build: Callable[[str], dict[str, Any]]


def slug(text: str) -> str:
    """A readable, id-safe version of ``text`` (letters, digits, ``._-``)."""
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", text)).strip("-.") or "item"


def date_notes(info: DateInfo) -> list[str]:
    """Item notes about an imprecise or missing date."""
    if info.precision == "unknown":
        return ["acquisition date unknown"]
    if info.precision in ("year", "month"):
        return [f"{info.precision} only: date set to the middle of the period"]
    return []


def band_product_unit(folder: Path, prefix: str, bands: dict[str, Path]) -> IngestUnit | None:
    """OSCD date folder, BigEarthNet patch, or a generic one-file-per-band product (2 bands or more)."""
    files = list(bands.values())
    dates_txt = folder.parent / "dates.txt"
    oscd = re.fullmatch(r"imgs_(\d)", folder.name)
    if oscd and dates_txt.is_file():
        date = _oscd_date(dates_txt, oscd[1])
        city = folder.parent.name
        day = date.value.date().isoformat() if date.value else f"date{oscd[1]}"
        labels = sorted(str(p) for p in (folder.parent / "cm").glob("*-cm.tif"))
        extra: dict[str, Any] = {
            "geovigie:pair": f"oscd-{city}",
            "geovigie:pair_role": "before" if oscd[1] == "1" else "after",
        }
        if labels:
            extra["geovigie:labels"] = labels
        meta = partial(_meta, collection="oscd-sentinel-2-l1c", date=date, platform="sentinel-2", level="L1C",
                       scale=1e-4, extra=extra, mtime=dates_txt.stat().st_mtime)  # fmt: skip
        return IngestUnit(f"oscd-{slug(city)}-{day}", folder, [*files, dates_txt], partial(_build_product, bands, meta))
    ben_json = folder / f"{folder.name}_labels_metadata.json"
    if ben_json.is_file():
        return _bigearthnet_unit(folder, bands, ben_json)
    if len(bands) < 2:
        return None
    date = date_from_name(prefix) or UNKNOWN_DATE
    is_s2 = any(b.startswith("B") for b in bands)
    meta = partial(_meta, collection="local", date=date, platform="sentinel-2" if is_s2 else None, level=None,
                   scale=None, extra={}, mtime=files[0].stat().st_mtime)  # fmt: skip
    return IngestUnit(slug(prefix), folder, files, partial(_build_product, bands, meta))


def _bigearthnet_unit(folder: Path, bands: dict[str, Path], ben_json: Path) -> IngestUnit:
    try:
        info = json.loads(ben_json.read_text())
    except (OSError, ValueError):
        info = {}
    raw_date = str(info.get("acquisition_date") or info.get("acquisition_time") or "")
    date = parse_date_text(raw_date, source=ben_json.name) or date_from_name(folder.name) or UNKNOWN_DATE
    s1 = "VV" in bands or "VH" in bands
    classes = [str(c) for c in info.get("labels", [])] if isinstance(info.get("labels"), list) else []
    extra: dict[str, Any] = {"geovigie:labels": [str(ben_json)], "geovigie:classes": classes}
    if keywords := keywords_from_labels([], folder.name, classes):
        extra["keywords"] = keywords  # "the peat bog patch": CORINE classes name the patch
    meta = partial(_meta, collection="bigearthnet-s1-grd" if s1 else "bigearthnet-s2-l2a", date=date,
                   platform="sentinel-1" if s1 else "sentinel-2", level=None if s1 else "L2A",
                   scale=None if s1 else 1e-4, extra=extra, mtime=ben_json.stat().st_mtime)  # fmt: skip
    files = [*bands.values(), ben_json]
    return IngestUnit(f"bigearthnet-{slug(folder.name)}", folder, files, partial(_build_product, bands, meta))


def _meta(item_id: str, **kwargs: Any) -> ItemMeta:
    date: DateInfo = kwargs["date"]
    return ItemMeta(item_id=item_id, notes=tuple(date_notes(date)), **kwargs)


def _build_product(bands: dict[str, Path], meta: Callable[[str], ItemMeta], item_id: str) -> dict[str, Any]:
    return band_product_item(bands, meta(item_id))


def _oscd_date(dates_txt: Path, index: str) -> DateInfo:
    for line in dates_txt.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == f"date_{index}":
            return parse_date_text(value.strip(), source="dates.txt") or UNKNOWN_DATE
    return UNKNOWN_DATE
