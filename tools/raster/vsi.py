"""Remote pixels over HTTP: GDAL's /vsicurl options in one place, which hrefs may be read, signing, tokens.

* **GDAL options** (:func:`http_options`), set once per process before the first remote read: no directory
  listing or sidecar probes on open (``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``, only ``.tif`` names probed),
  one HEAD per file (a GET without range would stream the whole file), consecutive ranges merged, HTTP/2
  multiplexing, a block cache sized by ``GEOVIGIE_GDAL_VSI_CACHE_MB`` (shared by the threads, so a follow-up
  question on the same item re-reads no block), and GDAL's own retry on 429/5xx.
* **Which hrefs** (:func:`check_href`): a remote item's asset is read only over http(s) and only from the hosts
  recorded on the item when it was cached (``geovigie:asset_hosts``: the API's host, the known asset hosts of
  that API and ``GEOVIGIE_STAC_ASSET_HOSTS``); never ``file://``, a local path or another URL.
* **Signing** (:func:`readable_href`): items of an API with a SAS token endpoint (Planetary Computer) get a
  token per collection, cached until five minutes before its ``msft:expiry``.
* **Tokens**: a private API's bearer token is sent with its asset reads (``GDAL_HTTP_HEADERS``), never stored.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import rasterio

from geovigie.core.errors import ToolInputError, UpstreamError

TOKEN_MARGIN_S = 300.0
_OPTIONS_SET = threading.Event()
_SAS: dict[tuple[str, str], tuple[str, float]] = {}
_SAS_LOCK = threading.Lock()
_TOKENS: dict[str, str] = {}
_OWNERS: dict[str, dict[str, Any]] = {}
"""Raw href of a remote item's band -> the item (id, collection, ``geovigie:*`` properties): lets every opener
(``open_raster``, ``DatasetCache``) check and sign an href it is handed without being given the item."""
_OWNERS_LOCK = threading.Lock()
_PARTS: dict[str, dict[str, int]] = {}
_READ: dict[str, set[str]] = {}
"""Item id -> raw hrefs of its assets opened in this process (provenance)."""


def http_options(vsi_cache_mb: int = 64) -> dict[str, str]:
    """The GDAL configuration used for every remote read."""
    cache = str(max(vsi_cache_mb, 1) * 1024 * 1024)
    return {
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF",
        "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
        "GDAL_HTTP_MULTIPLEX": "YES",
        "GDAL_HTTP_VERSION": "2",
        "CPL_VSIL_CURL_CACHE_SIZE": cache,
        "VSI_CACHE": "TRUE",
        "VSI_CACHE_SIZE": cache,
        "GDAL_HTTP_MAX_RETRY": "3",
        "GDAL_HTTP_RETRY_DELAY": "1",
        "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    }


def apply_http_options(vsi_cache_mb: int | None = None) -> None:
    """Set :func:`http_options` as process defaults (environment), once; explicit user settings win."""
    if _OPTIONS_SET.is_set():
        return
    if vsi_cache_mb is None:
        from geovigie.core.settings import get_settings

        vsi_cache_mb = get_settings().gdal_vsi_cache_mb
    for key, value in http_options(vsi_cache_mb).items():
        os.environ.setdefault(key, value)
    _OPTIONS_SET.set()


def register_tokens(tokens: Mapping[str, str]) -> None:
    """Bearer tokens by STAC API URL (from settings), used for that API's asset reads."""
    _TOKENS.update({k.rstrip("/"): v for k, v in tokens.items()})


def _host(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return parsed.netloc.lower()


def host_allowed(url: str, hosts: list[str]) -> bool:
    """True when ``url`` is http(s) on one of ``hosts`` (``host[:port]`` exact, ``.suffix`` for subdomains)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return False
    netloc = parsed.netloc.lower()
    name = (parsed.hostname or "").lower()
    for pattern in hosts:
        pattern = pattern.lower().strip()
        if pattern.startswith(".") and (name.endswith(pattern) or netloc.endswith(pattern)):
            return True
        if pattern in (netloc, name) and (":" not in pattern or pattern == netloc):
            return True
    return False


def check_href(props: Mapping[str, Any], href: str) -> None:
    """Refuse a remote item's href that is not http(s) on its allowed hosts (local items pass).

    Raises:
        ToolInputError: the href points elsewhere (a local path, ``file://``, another host).
    """
    if not props.get("geovigie:source_api"):
        return
    hosts = [str(h) for h in props.get("geovigie:asset_hosts") or []]
    if not host_allowed(href, hosts):
        raise ToolInputError(
            f"Asset {href[:200]} of a remote item is not on the hosts allowed for its STAC API.",
            hint="Add the host to GEOVIGIE_STAC_ASSET_HOSTS if this API really serves its files there.",
        )


def _fetch_token(sas_url: str, collection: str, timeout_s: float) -> tuple[str, float]:
    url = f"{sas_url.rstrip('/')}/{urllib.parse.quote(collection)}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - configured https endpoint
            body = json.loads(resp.read().decode())
    except (OSError, ValueError) as exc:
        raise UpstreamError(
            f"Could not get a signing token for {collection} from {sas_url}: {exc}.",
            hint="Retry later; Planetary Computer assets cannot be read unsigned.",
        ) from exc
    token = str(body.get("token", "")).lstrip("?")
    expiry = body.get("msft:expiry")
    try:
        expires = datetime.fromisoformat(str(expiry).replace("Z", "+00:00")).timestamp()
    except ValueError:
        expires = time.time() + 600.0
    if not token:
        raise UpstreamError(f"The signing endpoint {sas_url} returned no token.", hint="Retry later.")
    return token, expires


def sign(href: str, sas_url: str, collection: str, *, timeout_s: float = 20.0) -> str:
    """``href`` with a SAS token for ``collection`` appended (cached until shortly before it expires)."""
    key = (sas_url, collection)
    now = time.time()
    with _SAS_LOCK:
        cached = _SAS.get(key)
        if cached is None or cached[1] - TOKEN_MARGIN_S <= now:
            cached = _SAS[key] = _fetch_token(sas_url, collection, timeout_s)
    token = cached[0]
    if "sig=" in href:
        return href
    return f"{href}{'&' if '?' in href else '?'}{token}"


def expire_tokens() -> None:
    """Forget every cached SAS token (tests; a refused signed read)."""
    with _SAS_LOCK:
        _SAS.clear()


def token_expiry(sas_url: str, collection: str) -> datetime | None:
    """When the cached token expires, or None."""
    with _SAS_LOCK:
        cached = _SAS.get((sas_url, collection))
    return datetime.fromtimestamp(cached[1], tz=UTC) if cached else None


def readable_href(item: Mapping[str, Any], href: str) -> str:
    """The href GDAL should open for an asset of ``item``: checked against the host policy, signed when needed.

    Raises:
        ToolInputError: the href is not allowed for this remote item.
        UpstreamError: signing failed.
    """
    props = item.get("properties") or {}
    check_href(props, href)
    if not props.get("geovigie:source_api"):
        return href
    with _OWNERS_LOCK:
        _READ.setdefault(str(item.get("id")), set()).add(href)
    apply_http_options()
    sas_url = props.get("geovigie:sas_url")
    if sas_url:
        return sign(href, str(sas_url), str(props.get("geovigie:remote_collection") or item.get("collection")))
    return href


def remember(item: Mapping[str, Any], hrefs: list[str]) -> None:
    """Record that ``hrefs`` belong to the remote ``item`` (see :func:`resolve`)."""
    props = item.get("properties") or {}
    if not props.get("geovigie:source_api"):
        return
    owner = {"id": item.get("id"), "collection": item.get("collection"), "properties": props}
    with _OWNERS_LOCK:
        for href in hrefs:
            _OWNERS[href] = owner


def resolve(href: str) -> str:
    """The href to open: a remote item's band checked and signed (:func:`readable_href`), others unchanged."""
    with _OWNERS_LOCK:
        owner = _OWNERS.get(href)
    return readable_href(owner, href) if owner is not None else href


@contextmanager
def remote_env(item: Mapping[str, Any]) -> Iterator[None]:
    """GDAL options for reading this item's assets (the API's bearer token, when one is configured)."""
    props = item.get("properties") or {}
    api = str(props.get("geovigie:source_api") or "").rstrip("/")
    token = _TOKENS.get(api) if api else None
    if token is None:
        yield
        return
    with rasterio.Env(GDAL_HTTP_HEADERS=f"Authorization: Bearer {token}"):
        yield


def hrefs_read(item_id: str) -> list[str]:
    """Raw hrefs of a remote item opened in this process, sorted."""
    with _OWNERS_LOCK:
        return sorted(_READ.get(item_id, ()))


def record_parts(mosaic_id: str, counts: Mapping[str, int]) -> None:
    """Add the pixels each part supplied to a mosaic read (see :func:`part_shares`)."""
    with _OWNERS_LOCK:
        total = _PARTS.setdefault(mosaic_id, {})
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n


def part_shares(mosaic_id: str) -> dict[str, float]:
    """Share of the pixels read for a mosaic that each part item supplied (this process)."""
    with _OWNERS_LOCK:
        counts = dict(_PARTS.get(mosaic_id, {}))
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in counts.items()} if total else {}


def api_host(url: str) -> str:
    """``host[:port]`` of a URL."""
    return _host(url)
