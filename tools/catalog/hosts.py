"""One remote STAC API as GeoVigie uses it: where its assets may be read from, its token, its signing endpoint.

A remote item is trusted only as far as its API: its assets are read only over http(s) from the API's own host,
the hosts that API is known to serve files from (:data:`KNOWN_ASSET_HOSTS`) and ``GEOVIGIE_STAC_ASSET_HOSTS``.
:meth:`RemoteApi.adopt` namespaces the item's id, drops every other asset (``s3://`` mirrors, ``file://``,
local paths, other hosts: server-side request forgery) with a note, and records what the reader needs.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from geovigie.core.settings import Settings
from geovigie.tools.raster import host_allowed

KNOWN_ASSET_HOSTS: dict[str, tuple[str, ...]] = {
    "earth-search.aws.element84.com": (
        "sentinel-cogs.s3.us-west-2.amazonaws.com",
        "e84-earth-search-sentinel-data.s3.us-west-2.amazonaws.com",
        "earthsearch-data.s3.us-west-2.amazonaws.com",
        "landsatlook.usgs.gov",
    ),
    "planetarycomputer.microsoft.com": (".blob.core.windows.net",),
}
"""API host -> hosts its asset hrefs point at (Earth Search v1 COG buckets, Planetary Computer blob storage)."""


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc.lower()


def namespaced_id(api_url: str, collection: str | None, item_id: str) -> str:
    """``<api host>/<collection>/<id>``: remote ids can never collide with local ones (which hold no ``/``)."""
    return f"{_host(api_url)}/{collection or 'remote'}/{item_id}"


@dataclass(frozen=True)
class RemoteApi:
    """A configured STAC API."""

    url: str
    token: str | None = None
    sas_url: str | None = None
    extra_hosts: tuple[str, ...] = ()
    retries: int = 3
    notes: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def from_settings(cls, url: str, settings: Settings) -> RemoteApi:
        """The API at ``url`` with the token, signing endpoint and extra hosts the settings give it."""
        key = url.rstrip("/")
        tokens = {k.rstrip("/"): v for k, v in settings.stac_api_tokens.items()}
        sas = {k.rstrip("/"): v for k, v in settings.stac_sas_urls.items()}
        return cls(
            url=url,
            token=tokens.get(key),
            sas_url=sas.get(key),
            extra_hosts=tuple(settings.stac_asset_hosts),
            retries=settings.stac_retries,
        )

    @property
    def asset_hosts(self) -> list[str]:
        """Hosts whose hrefs may be read for this API's items."""
        host = _host(self.url)
        return [host, *KNOWN_ASSET_HOSTS.get(urllib.parse.urlsplit(self.url).hostname or "", ()), *self.extra_hosts]

    def adopt(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item as cached: namespaced id, allowed assets only, provenance and reading hints in properties."""
        original = str(item.get("id"))
        collection = item.get("collection") or "remote"
        # ``geovigie:*`` properties are GeoVigie's own (reading hints, mosaic parts, trust): never the API's.
        props = {k: v for k, v in (item.get("properties") or {}).items() if not str(k).startswith("geovigie:")}
        item["properties"] = props
        self_link = next(
            (str(link["href"]) for link in item.get("links") or [] if link.get("rel") == "self" and link.get("href")),
            f"{self.url.rstrip('/')}/collections/{collection}/items/{original}",
        )
        hosts = self.asset_hosts
        kept: dict[str, Any] = {}
        dropped: list[str] = []
        for key, asset in (item.get("assets") or {}).items():
            href = str(asset.get("href", "")) if isinstance(asset, dict) else ""
            if host_allowed(href, hosts):
                kept[key] = asset
            elif "data" in (asset.get("roles") or ["data"]) if isinstance(asset, dict) else False:
                dropped.append(key)
        item["assets"] = kept
        item["id"] = namespaced_id(self.url, collection, original)
        item["collection"] = collection
        item["links"] = []
        props.update(
            {
                "geovigie:source_api": self.url,
                "geovigie:remote_id": original,
                "geovigie:remote_collection": collection,
                "geovigie:self_link": self_link,
                "geovigie:asset_hosts": hosts,
            }
        )
        if self.sas_url:
            props["geovigie:sas_url"] = self.sas_url
        if dropped:
            note = f"assets not on the API's allowed hosts (not read): {', '.join(sorted(dropped))}"
            props["geovigie:notes"] = [*props.get("geovigie:notes", []), note]
        return item
