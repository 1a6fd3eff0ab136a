"""The sample catalog's metadata, as the planner evals' stand-in for a catalog database.

In the product the offline planner links images named by place, date or collection ("the Las Vegas SpaceNet
image") through what the catalog records of each item (:mod:`geovigie.agent.offline.item_facts`). The question
sets run on stub tools with no database, so their catalog is this snapshot: one JSON line per item of
``geovigie ingest --samples`` (id, collection, datetime, WGS84 bbox, georeferenced, STAC title/keywords/platform),
written by this module from a real ingested catalog, never by hand::

    python -m geovigie.evals.catalog_facts --home /tmp/scratch-home --out evals/questions/sample_catalog.jsonl
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from geovigie.agent.offline import ItemFacts, facts_of
from geovigie.core.db.models import CatalogItem

SNAPSHOT = Path(__file__).resolve().parent / "questions" / "sample_catalog.jsonl"
_KEPT = ("title", "keywords", "platform", "constellation")


def _row(item: CatalogItem) -> dict[str, Any]:
    stac = item.stac if isinstance(item.stac, dict) else {}
    raw = stac.get("properties")
    props: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return {
        "id": item.id,
        "collection": item.collection,
        "datetime": item.datetime.isoformat() if item.datetime else None,
        "bbox": [item.west, item.south, item.east, item.north] if item.west is not None else None,
        "georeferenced": bool(item.georeferenced),
        "properties": {k: props[k] for k in _KEPT if k in props},
    }


def snapshot(db_path: Path) -> list[dict[str, Any]]:
    """The rows of a catalog database, sorted by id."""
    engine = create_engine(f"sqlite:///{db_path}")
    with Session(engine) as session:
        return [_row(i) for i in session.scalars(select(CatalogItem).order_by(CatalogItem.id))]


@lru_cache(maxsize=4)
def load_facts(path: Path = SNAPSHOT) -> dict[str, ItemFacts]:
    """Facts by item id from a snapshot file (empty when the file is absent)."""
    if not path.is_file():
        return {}
    facts: dict[str, ItemFacts] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        when = _dt.datetime.fromisoformat(row["datetime"]) if row.get("datetime") else None
        bbox = tuple(row["bbox"]) if row.get("bbox") else None
        facts[row["id"]] = facts_of(
            row["id"], collection=row.get("collection", ""), when=when, bbox=bbox,  # type: ignore[arg-type]
            properties=row.get("properties"), georeferenced=row.get("georeferenced", True),
        )  # fmt: skip
    return facts


def facts_for(ids: Sequence[str]) -> dict[str, ItemFacts]:
    """The snapshot's facts of these items (items it lacks are left out: the linker then reads their ids only)."""
    known = load_facts()
    return {i: known[i] for i in ids if i in known}


def main(argv: Sequence[str] | None = None) -> int:
    """Write the snapshot of the catalog under ``--home``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a GEOVIGIE_HOME where the samples were ingested")
    parser.add_argument("--out", type=Path, default=SNAPSHOT)
    args = parser.parse_args(argv)
    rows = snapshot(args.home / "geovigie.db")
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} items -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
