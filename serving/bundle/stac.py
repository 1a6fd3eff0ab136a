"""The bundle's STAC: one Collection, an Item per input scene and per output file; offline validation.

Input Items keep the catalog's item as the turn read it (properties, footprint, asset hrefs) and add, per asset,
``geovigie:sha256`` and ``geovigie:size`` of the bytes, plus ``geovigie:data_relpath`` when the file lies in the
data folder (replay on another machine finds it there). Output Items point at the copied files with relative
hrefs. The catalog is saved self-contained (relative links): the folder can be moved or zipped.

Checksums use ``geovigie:`` fields rather than the ``file`` extension, whose JSON schema would have to be
fetched to validate the bundle, and a bundle must validate offline.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
from dateutil.parser import isoparse
from pystac.validation import validate_dict

INPUT_ROLE = "geovigie:input"
OUTPUT_ROLE = "geovigie:output"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def local_path(href: str) -> Path | None:
    """The local file of an href (plain path or ``file://``); None for remote URLs."""
    if href.startswith("file://"):
        return Path(href.removeprefix("file://"))
    if "://" in href:
        return None
    return Path(href)


def _checksummed_assets(stac: dict[str, Any], data_dir: Path) -> tuple[dict[str, Any], list[str]]:
    assets, notes = {}, []
    root = data_dir.resolve()
    for key, asset in (stac.get("assets") or {}).items():
        asset = dict(asset)
        path = local_path(str(asset.get("href", "")))
        if path is None:
            notes.append(f"asset {key} of {stac['id']} is remote ({asset.get('href')}): not checksummed")
        elif not path.is_file():
            notes.append(f"asset {key} of {stac['id']} is missing at {path}: not checksummed")
        else:
            asset["geovigie:sha256"] = sha256_of(path)
            asset["geovigie:size"] = path.stat().st_size
            if path.resolve().is_relative_to(root):
                asset["geovigie:data_relpath"] = path.resolve().relative_to(root).as_posix()
        assets[key] = asset
    return assets, notes


def input_item(stac: dict[str, Any], *, data_dir: Path, fallback_time: datetime) -> tuple[pystac.Item, list[str]]:
    """A bundle Item for one input scene, its assets checksummed; notes say what could not be."""
    assets, notes = _checksummed_assets(stac, data_dir)
    props = dict(stac.get("properties") or {})
    when = props.pop("datetime", None)
    start, end = props.pop("start_datetime", None), props.pop("end_datetime", None)
    if not (when or (start and end)):
        props["geovigie:datetime_unknown"] = True  # STAC needs a time: the turn's, flagged as not the scene's
        start = end = fallback_time.isoformat()
    props["geovigie:source_collection"] = stac.get("collection")
    props["geovigie:role"] = INPUT_ROLE
    item = pystac.Item(
        id=str(stac["id"]),
        geometry=stac.get("geometry"),
        bbox=stac.get("bbox"),
        datetime=isoparse(when) if when else None,
        start_datetime=isoparse(start) if start and not when else None,
        end_datetime=isoparse(end) if end and not when else None,
        properties=props,
        stac_extensions=list(stac.get("stac_extensions") or []),
    )
    for key, asset in assets.items():
        item.add_asset(key, pystac.Asset.from_dict(asset))
    for link in stac.get("links") or []:
        if link.get("rel") == "self":  # where the item came from (a remote API): kept as its canonical address
            item.add_link(pystac.Link(rel="canonical", target=str(link["href"]), media_type="application/geo+json"))
    return item, notes


def output_item(art: dict[str, Any], file: Path, *, when: datetime, turn: int) -> pystac.Item:
    """A bundle Item for one output file (mask, polygons, overlay...) copied into the bundle."""
    bbox = art.get("bbox")
    geometry = None
    if bbox:
        w, s, e, n = bbox
        geometry = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    item = pystac.Item(
        id=f"output-{Path(art['id']).stem}",
        geometry=geometry,
        bbox=list(bbox) if bbox else None,
        datetime=when,
        properties={
            "title": art.get("title", ""),
            "geovigie:role": OUTPUT_ROLE,
            "geovigie:artifact_role": art.get("role"),
            "geovigie:turn": turn,
        },
    )
    item.add_asset(
        "data",
        pystac.Asset(
            href=str(file.resolve()),
            media_type=art.get("media_type"),
            roles=["data", str(art.get("role") or "evidence")],
            title=art.get("title"),
            extra_fields={"geovigie:sha256": sha256_of(file), "geovigie:size": file.stat().st_size},
        ),
    )
    return item


def build_collection(bundle_id: str, description: str, items: list[pystac.Item]) -> pystac.Collection:
    """The Collection holding every Item, its extent the union of theirs."""
    boxes = [i.bbox for i in items if i.bbox]
    spatial = (
        [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
        if boxes
        else [-180.0, -90.0, 180.0, 90.0]
    )
    times = [t for i in items for t in (i.datetime, i.common_metadata.start_datetime) if t is not None]
    temporal: list[datetime | None] = [min(times), max(times)] if times else [datetime.now(UTC), None]
    collection = pystac.Collection(
        id=bundle_id,
        description=description,
        extent=pystac.Extent(pystac.SpatialExtent([spatial]), pystac.TemporalExtent([temporal])),
        license="other",
        title=f"GeoVigie answer bundle {bundle_id}",
    )
    for item in items:
        collection.add_item(item)
    return collection


def save_collection(collection: pystac.Collection, folder: Path, outputs: list[pystac.Item]) -> None:
    """Write the catalog self-contained under ``folder`` (output asset hrefs relative; inputs keep theirs)."""
    collection.normalize_hrefs(str(folder.resolve()))
    for item in outputs:
        item.make_asset_hrefs_relative()
    collection.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)


def validate_folder(folder: Path) -> dict[str, Any]:
    """Validate every STAC object of a bundle against the core STAC JSON schemas, offline.

    pystac ships the core STAC 1.1.0 and GeoJSON schemas and validates against them with jsonschema without a
    network; extension schemas would have to be fetched, so the objects are checked against the core schemas
    (the bundle declares no extension of its own; input items keep the ones their source declared, listed as
    not validated). The object model is also checked: the catalog is read back with pystac and every link
    resolved.

    Returns:
        ``{"objects": n, "errors": [...], "unvalidated_extensions": [...]}``.
    """
    errors: list[str] = []
    extensions: set[str] = set()
    collection = pystac.Collection.from_file(str(folder / "collection.json"))
    objects: list[pystac.STACObject] = [collection, *collection.get_items(recursive=True)]
    for obj in objects:
        data = obj.to_dict(include_self_link=False)
        extensions.update(data.get("stac_extensions") or [])
        try:
            validate_dict(data, extensions=[], href=obj.get_self_href())
        except pystac.STACValidationError as exc:
            errors.append(f"{obj.id}: {exc}")
    return {"objects": len(objects), "errors": errors, "unvalidated_extensions": sorted(extensions)}
