"""What the catalog holds, told to an LLM planner in its system prompt so that it can resolve image references.

A compact text: per collection, the number of items, their date range and a few ids; the model then names
images by their exact ids in ``run_playbook(item_ids=...)`` or searches with ``search_imagery``. Cached for a
minute per database (the prompt is built on every planner call).
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from geovigie.core.db.models import CatalogItem

MAX_IDS_PER_COLLECTION = 8
CACHE_S = 60.0
_CACHE: dict[int, tuple[float, str]] = {}


def catalog_summary(ctx: Any) -> str:
    """The catalog as a few prompt lines ("" when there is no database or no item)."""
    db = getattr(ctx, "db", None)
    if db is None:
        return ""
    key = id(db)
    if key in _CACHE and time.monotonic() - _CACHE[key][0] < CACHE_S:
        return _CACHE[key][1]
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    try:
        with db.session() as session:
            for item_id, collection, when in session.execute(
                select(CatalogItem.id, CatalogItem.collection, CatalogItem.datetime)
            ):
                groups[str(collection)].append((str(item_id), when.date().isoformat() if when else ""))
    except Exception:  # noqa: BLE001 - a prompt hint must never stop a turn
        return ""
    lines = []
    for collection, items in sorted(groups.items()):
        dates = sorted(d for _, d in items if d)
        span = f", {dates[0]} to {dates[-1]}" if dates else ""
        ids = ", ".join(i for i, _ in sorted(items)[:MAX_IDS_PER_COLLECTION])
        more = " …" if len(items) > MAX_IDS_PER_COLLECTION else ""
        lines.append(f"- {collection}: {len(items)} item(s){span}: {ids}{more}")
    text = ""
    if lines:
        text = ("Local catalog (use these exact ids in item_ids; search_imagery finds the others by place and "
                "date):\n" + "\n".join(lines))  # fmt: skip
    _CACHE[key] = (time.monotonic(), text)
    return text
