"""Local catalog persistence: STAC items stored with SQLAlchemy, looked up by id or file name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geovigie.core.db.models import CatalogItem
from geovigie.core.db.store import Database
from geovigie.core.errors import ToolInputError
from geovigie.tools.raster import Scene


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    return isoparse(str(value))


def upsert_item(db: Database, item: dict[str, Any], *, source_path: str, fingerprint: str) -> bool:
    """Insert or replace one STAC item.

    Returns:
        True if the item was new or changed, False if an identical fingerprint was already stored.
    """
    with db.session() as session:
        return _upsert(session, item, source_path=source_path, fingerprint=fingerprint)


def upsert_items(db: Database, entries: Sequence[tuple[dict[str, Any], str, str]]) -> int:
    """Insert or replace several items (item, source_path, fingerprint) in one transaction.

    All of them are stored or none (a failure rolls the batch back), which keeps every item whole while
    sparing one disk sync per item on big ingests.

    Returns:
        Number of items new or changed.
    """
    for attempt in range(_UPSERT_ATTEMPTS):
        try:
            with db.session() as session:
                return sum(_upsert(session, item, source_path=src, fingerprint=fp) for item, src, fp in entries)
        except IntegrityError:
            # Two ingests of the same new files: the other one inserted first. Its rows are visible now, so the
            # next pass updates them (or finds them unchanged) instead of inserting.
            if attempt == _UPSERT_ATTEMPTS - 1:
                raise
    return 0


_UPSERT_ATTEMPTS = 3


def _upsert(session: Session, item: dict[str, Any], *, source_path: str, fingerprint: str) -> bool:
    row = session.get(CatalogItem, item["id"])
    if row is not None and row.fingerprint == fingerprint:
        return False
    props = item.get("properties", {})
    bbox = item.get("bbox") if props.get("geovigie:georeferenced", True) else None
    values: dict[str, Any] = {
        "collection": item.get("collection") or "local",
        "datetime": _parse_dt(props.get("datetime")),
        "west": bbox[0] if bbox else None,
        "south": bbox[1] if bbox else None,
        "east": bbox[2] if bbox else None,
        "north": bbox[3] if bbox else None,
        "gsd": props.get("gsd"),
        "cloud_cover": props.get("eo:cloud_cover"),
        "georeferenced": bool(props.get("geovigie:georeferenced", True)),
        "source_path": source_path,
        "fingerprint": fingerprint,
        "stac": item,
    }
    if row is None:
        session.add(CatalogItem(id=item["id"], **values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return True


def source_of(db: Database, item_id: str) -> str | None:
    """Where a stored item came from (file path or STAC API URL), or None when the id is not stored."""
    with db.session() as session:
        row = session.get(CatalogItem, item_id)
        return row.source_path if row is not None else None


def catalog_size(db: Database) -> int:
    """Number of items in the local catalog (a count query: cheap on large catalogs)."""
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(CatalogItem)) or 0)


def all_scenes(db: Database) -> list[Scene]:
    """Every scene of the local catalog, ordered by collection then date."""
    with db.session() as session:
        rows = session.scalars(select(CatalogItem).order_by(CatalogItem.collection, CatalogItem.datetime)).all()
        return [Scene(row.stac) for row in rows]


def get_scene(db: Database, ref: str) -> Scene:
    """Find a scene by item id, or by a file name / path fragment the user typed.

    Args:
        db: The database holding the catalog.
        ref: An item id (``oscd-bordeaux-2016-05-04``) or a file name (``P0706.png``).

    Raises:
        ToolInputError: when nothing, or more than one item, matches.
    """
    ref = ref.strip()
    with db.session() as session:
        row = session.get(CatalogItem, ref)
        if row is not None:
            return Scene(row.stac)
        pattern = _contains(ref.rsplit("/", 1)[-1])
        rows = session.scalars(
            select(CatalogItem).where(
                or_(CatalogItem.source_path.ilike(pattern, escape="\\"), CatalogItem.id.ilike(pattern, escape="\\"))
            )
        ).all()
    rows = _prefer_path_suffix(list(rows), ref)
    if len(rows) == 1:
        return Scene(rows[0].stac)
    if not rows:
        raise ToolInputError(
            f"No image or catalog item named {ref!r}.",
            hint="Search the catalog (search_imagery) or ingest the file with `geovigie ingest PATH` first.",
        )
    names = ", ".join(r.id for r in rows[:8])
    raise ToolInputError(f"{ref!r} matches several items: {names}.", hint="Use one of these item ids.")


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` literally anywhere (``%`` and ``_`` typed by a user match themselves)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _prefer_path_suffix(rows: list[CatalogItem], ref: str) -> list[CatalogItem]:
    # "A/x.png" vs "B/x.png": a reference with folders picks the items whose path ends with it.
    if "/" not in ref or len(rows) < 2:
        return rows
    suffix = "/" + ref.lstrip("./").lower()
    narrowed = [r for r in rows if r.source_path.replace("\\", "/").lower().endswith(suffix)]
    return narrowed or rows


def fingerprint_index(db: Database) -> dict[str, tuple[str, str]]:
    """Item id -> (fingerprint, source path) for every stored item (lets the ingest skip unchanged files)."""
    with db.session() as session:
        rows = session.execute(select(CatalogItem.id, CatalogItem.fingerprint, CatalogItem.source_path)).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def query_items(
    db: Database,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    collections: list[str] | None = None,
    include_undated: bool = False,
) -> list[Scene]:
    """SQL prefilter of the catalog: bbox overlap, datetime window (inclusive) and collections.

    A bbox excludes non-georeferenced items; a datetime bound excludes items whose date is unknown unless
    ``include_undated`` (so that the caller can report them). The result is a superset for exact
    geometry tests (bbox overlap only).
    """
    stmt = select(CatalogItem)
    if bbox is not None:
        w, s, e, n = bbox
        stmt = stmt.where(
            CatalogItem.georeferenced.is_(True),
            CatalogItem.west <= e,
            CatalogItem.east >= w,
            CatalogItem.south <= n,
            CatalogItem.north >= s,
        )
    in_window = []
    if start is not None:
        in_window.append(CatalogItem.datetime >= start)
    if end is not None:
        in_window.append(CatalogItem.datetime <= end)
    if in_window:
        dated = and_(*in_window)
        stmt = stmt.where(or_(dated, CatalogItem.datetime.is_(None)) if include_undated else dated)
    if collections:
        stmt = stmt.where(CatalogItem.collection.in_(collections))
    with db.session() as session:
        rows = session.scalars(stmt.order_by(CatalogItem.datetime.desc())).all()
        return [Scene(row.stac) for row in rows]


def match_items(db: Database, ref: str, *, limit: int = 50) -> list[Scene]:
    """Items named by ``ref``: the exact id, else every id or source path containing it."""
    ref = ref.strip()
    with db.session() as session:
        row = session.get(CatalogItem, ref)
        if row is not None:
            return [Scene(row.stac)]
        pattern = _contains(ref.rsplit("/", 1)[-1])
        rows = session.scalars(
            select(CatalogItem)
            .where(or_(CatalogItem.source_path.ilike(pattern, escape="\\"), CatalogItem.id.ilike(pattern, escape="\\")))
            .order_by(CatalogItem.id)
            .limit(limit)
        ).all()
        return [Scene(r.stac) for r in _prefer_path_suffix(list(rows), ref)]


def delete_item(db: Database, item_id: str) -> bool:
    """Remove one item; True if it existed."""
    with db.session() as session:
        row = session.get(CatalogItem, item_id)
        if row is None:
            return False
        session.delete(row)
        return True
