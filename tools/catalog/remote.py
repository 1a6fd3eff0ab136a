"""Remote STAC API search (pystac-client), with retries, and caching of the items in the local catalog.

Only ``bbox``, ``datetime``, ``collections`` and ``ids`` are sent: the ``query`` extension is missing or
silently ignored by several servers (rustac's memory backend returns 0 items for it), so cloud cover and
pixel size are filtered on the client side by the caller.

Requests answering 429 or 5xx are retried with exponential back-off, honouring ``Retry-After`` (urllib3's
``Retry`` inside pystac-client's session); a private API's bearer token is sent from
``GEOVIGIE_STAC_API_TOKENS``.

Cached items are **namespaced** (:func:`namespaced_id`: ``<api host>/<collection>/<id>``) so that a remote item
can never replace a local one, whatever id the API returns; the original id, the API, its ``self`` link, the
asset hosts that may be read (:mod:`geovigie.tools.catalog.hosts`) and the signing endpoint are kept in the
item's ``geovigie:*`` properties. Assets whose href is not http(s) on those hosts are dropped with a note.
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
from urllib3.util.retry import Retry

from geovigie.core.db.store import Database
from geovigie.core.domain import BBox
from geovigie.tools.catalog.hosts import RemoteApi
from geovigie.tools.catalog.store import source_of, upsert_item

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


def _retry(retries: int) -> Retry | None:
    if retries <= 0:
        return None
    return Retry(
        total=retries,
        connect=1,  # a refused or unreachable host rarely comes back within seconds: one retry, then the note
        backoff_factor=0.5,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=None,  # POST searches are idempotent reads
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _search_once(api: RemoteApi, query: RemoteQuery, timeout_s: float) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {api.token}"} if api.token else None
    stac_io = StacApiIO(headers=headers, timeout=timeout_s, max_retries=_retry(api.retries))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client.open(api.url, stac_io=stac_io, timeout=timeout_s, headers=headers)
        search = client.search(
            bbox=list(query.bbox) if query.bbox else None,
            datetime=query.datetime_range(),
            collections=query.collections or None,
            ids=query.ids or None,
            max_items=query.max_items,
        )
        items = [it.to_dict(include_self_link=True, transform_hrefs=False) for it in search.items()]
    return [api.adopt(item) for item in items]


def search_remote(url: str | RemoteApi, query: RemoteQuery, *, timeout_s: float, attempts: int = 2) -> RemoteResult:
    """Search one STAC API, retrying; never raises.

    Args:
        url: Root URL of the STAC API, or the API with its hosts, token and signing endpoint.
        query: The search.
        timeout_s: Timeout of each HTTP request.
        attempts: Tries of the whole search (each HTTP request is also retried on 429/5xx).

    Returns:
        The items (namespaced STAC dicts, links removed, ``geovigie:*`` properties set) or the last error.
    """
    api = url if isinstance(url, RemoteApi) else RemoteApi(url=url)
    url = api.url
    start = time.perf_counter()
    error = "no attempt"
    for attempt in range(1, attempts + 1):
        try:
            items = _search_once(api, query, timeout_s)
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

    Later tools can then address them by their namespaced id. Unchanged items are not rewritten, and an id
    already stored from another source (a local file, another API) is never overwritten.

    Returns:
        Number of items inserted or changed.
    """
    changed = 0
    for item in result.items:
        owner = source_of(db, item["id"])
        if owner is not None and owner != result.url:
            logger.warning("remote item %s not cached: the id belongs to %s", item["id"], owner)
            continue
        fingerprint = hashlib.sha256(json.dumps(item, sort_keys=True, default=str).encode()).hexdigest()
        changed += upsert_item(db, item, source_path=result.url, fingerprint=fingerprint)
    return changed
