"""Remote STAC API search (pystac-client), with one retry, and caching of the items in the local catalog.

Only ``bbox``, ``datetime``, ``collections`` and ``ids`` are sent: the ``query`` extension is missing or
silently ignored by several servers (rustac's memory backend returns 0 items for it), so cloud cover and
pixel size are filtered on the client side by the caller.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pystac_client import Client
from pystac_client.stac_api_io import StacApiIO

from geovigie.core.db.store import Database
from geovigie.core.domain import BBox
from geovigie.tools.catalog.store import upsert_item

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteQuery:
    """What is asked of every remote API."""

    bbox: BBox | None = None
    start: date | None = None
    end: date | None = None
    collections: list[str] | None = None
    ids: list[str] | None = None
    max_items: int = 50

    def datetime_range(self) -> str | None:
        """STAC ``datetime`` parameter (open ends as ``..``), or None when unbounded."""
        if self.start is None and self.end is None:
            return None
        start = self.start.isoformat() if self.start else ".."
        end = self.end.isoformat() if self.end else ".."
        return f"{start}/{end}"


@dataclass
class RemoteResult:
    """Items returned by one API, or the error that stopped it."""

    url: str
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the API answered."""
        return self.error is None


def _search_once(url: str, query: RemoteQuery, timeout_s: float) -> list[dict[str, Any]]:
    # Our own retry loop replaces urllib3's (5 retries with back-off would hold the planner far too long).
    stac_io = StacApiIO(timeout=timeout_s, max_retries=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client.open(url, stac_io=stac_io, timeout=timeout_s)
        search = client.search(
            bbox=list(query.bbox) if query.bbox else None,
            datetime=query.datetime_range(),
            collections=query.collections or None,
            ids=query.ids or None,
            max_items=query.max_items,
        )
        items = [it.to_dict(include_self_link=False, transform_hrefs=False) for it in search.items()]
    for item in items:
        item["links"] = []
        item.setdefault("properties", {})["geovigie:source_api"] = url
    return items


def search_remote(url: str, query: RemoteQuery, *, timeout_s: float, attempts: int = 2) -> RemoteResult:
    """Search one STAC API, retrying once; never raises.

    Args:
        url: Root URL of the STAC API.
        query: The search.
        timeout_s: Timeout of each HTTP request.
        attempts: Tries before giving up (2 = one retry).

    Returns:
        The items (STAC dicts, links removed, ``geovigie:source_api`` set) or the last error.
    """
    start = time.perf_counter()
    error = "no attempt"
    for attempt in range(1, attempts + 1):
        try:
            items = _search_once(url, query, timeout_s)
        except Exception as exc:  # noqa: BLE001 - any failure of a remote catalog becomes a note, never a crash
            error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:300]
            logger.warning("stac search %s attempt %d failed: %s", url, attempt, error)
            continue
        elapsed = time.perf_counter() - start
        logger.info("stac search %s items=%d elapsed=%.2fs", url, len(items), elapsed)
        return RemoteResult(url=url, items=items, elapsed_s=round(elapsed, 3))
    return RemoteResult(url=url, error=error, elapsed_s=round(time.perf_counter() - start, 3))


def cache_items(db: Database, result: RemoteResult) -> int:
    """Store the items of a remote search in the local catalog (source path = API URL).

    Later tools can then address them by id. Unchanged items are not rewritten.

    Returns:
        Number of items inserted or changed.
    """
    changed = 0
    for item in result.items:
        if not item.get("collection"):
            item["collection"] = "remote"
        fingerprint = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
        changed += upsert_item(db, item, source_path=result.url, fingerprint=fingerprint)
    return changed
