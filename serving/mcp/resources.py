"""MCP resources: the local catalog, recent threads, a thread's artifacts, and the artifact files themselves."""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass, field
from typing import Any

import mcp.types as types
from mcp.shared.exceptions import MCPError
from mcp.types.jsonrpc import INVALID_PARAMS

from geovigie.core.errors import GeoVigieError
from geovigie.serving.api.recorder import list_threads, thread_record
from geovigie.serving.api.service import TurnService
from geovigie.serving.api.ui_mount import catalog_rows
from geovigie.serving.mcp.results import ARTIFACT_URI, dumps

CATALOG_URI = "geovigie://catalog"
THREADS_URI = "geovigie://threads"
THREAD_ARTIFACTS_URI = "geovigie://threads/{thread_id}/artifacts"
LISTED_THREADS = 20
"""Recent threads whose artifact lists appear in ``resources/list`` (older ones are reachable by template)."""
_TEXT_SUFFIXES = (".json", ".geojson", ".md", ".html")


def resource_templates() -> list[types.ResourceTemplate]:
    """URI templates for any thread's artifacts and any artifact file."""
    return [
        types.ResourceTemplate(
            name="thread-artifacts",
            uri_template=THREAD_ARTIFACTS_URI,
            description="The artifacts of a thread's answers (JSON list: id, kind, role, title, uri).",
            mime_type="application/json",
        ),
        types.ResourceTemplate(
            name="artifact",
            uri_template=ARTIFACT_URI,
            description="An artifact file: PNG overlay, GeoJSON polygons, COG mask, report.",
        ),
    ]


def resource_list(service: TurnService, owner: str) -> list[types.Resource]:
    """The catalog, the thread list, and the artifact lists of the caller's most recent threads."""
    listed = [
        types.Resource(
            name="catalog",
            uri=CATALOG_URI,
            description="Scenes of the local catalog (id, date, collection, ground sample distance, WGS84 bbox).",
            mime_type="application/json",
        ),
        types.Resource(name="threads", uri=THREADS_URI, description="Recent threads.", mime_type="application/json"),
    ]
    for row in list_threads(service.ctx.db, limit=LISTED_THREADS, owner=owner):
        listed.append(
            types.Resource(
                name=f"artifacts of {row['id']}",
                title=f"Artifacts: {row['title'][:80]}",
                uri=THREAD_ARTIFACTS_URI.format(thread_id=row["id"]),
                mime_type="application/json",
            )
        )
    return listed


def thread_artifacts(service: TurnService, thread_id: str, owner: str) -> list[dict[str, Any]] | None:
    """The artifacts of a thread's answers, oldest turn first, with their MCP URIs; None: not the caller's thread."""
    record = thread_record(service.ctx.db, thread_id, owner=owner)
    if record is None:
        return None
    out: list[dict[str, Any]] = []
    for turn, message in enumerate(m for m in record["messages"] if m["role"] == "assistant"):
        for art in (message.get("payload") or {}).get("artifacts", []):
            out.append(
                {
                    "turn": turn + 1,
                    "uri": ARTIFACT_URI.format(id=art["id"]),
                    **{k: art.get(k) for k in ("id", "kind", "media_type", "role", "title", "bbox")},
                }
            )
    return out


def _not_found(uri: str, hint: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=f"No resource {uri!r}. {hint}")


@dataclass
class Reader:
    """Reads resource URIs for one caller."""

    service: TurnService
    owner: str
    """The caller's principal: threads of other keys read as missing."""
    produced: set[str] = field(default_factory=set)
    """Artifacts made by this server's direct tool calls (turns' artifacts are known to the service)."""

    def read(self, uri: str) -> list[types.TextResourceContents | types.BlobResourceContents]:
        """Contents of one resource URI.

        Raises:
            MCPError: (invalid params) for an unknown URI, thread or artifact.
        """
        service = self.service
        if uri == CATALOG_URI:
            return [_json(uri, catalog_rows(service))]
        if uri == THREADS_URI:
            return [_json(uri, list_threads(service.ctx.db, limit=200, owner=self.owner))]
        prefix, suffix = THREAD_ARTIFACTS_URI.split("{thread_id}")
        if uri.startswith(prefix) and uri.endswith(suffix):
            arts = thread_artifacts(service, uri.removeprefix(prefix).removesuffix(suffix), self.owner)
            if arts is None:
                raise _not_found(uri, "List your threads with geovigie://threads.")
            return [_json(uri, arts)]
        art_prefix = ARTIFACT_URI.split("{id}")[0]
        if uri.startswith(art_prefix):
            return [self._artifact(uri, uri.removeprefix(art_prefix))]
        raise _not_found(uri, f"Known: {CATALOG_URI}, {THREADS_URI}, {THREAD_ARTIFACTS_URI}, {ARTIFACT_URI}.")

    def _artifact(self, uri: str, artifact_id: str) -> types.TextResourceContents | types.BlobResourceContents:
        # As the HTTP API: only artifacts that a tool made are served, never any file placed in the folder.
        if artifact_id not in self.produced and not self.service.knows_artifact(artifact_id):
            raise _not_found(uri, "Use an artifact link returned by a tool or by ask.")
        try:
            path = self.service.ctx.artifacts.path_of(artifact_id)
        except GeoVigieError as exc:
            raise _not_found(uri, exc.hint) from None
        media = "application/geo+json" if path.suffix == ".geojson" else mimetypes.guess_type(path.name)[0]
        media = media or "application/octet-stream"
        if path.suffix in _TEXT_SUFFIXES:
            return types.TextResourceContents(uri=uri, mime_type=media, text=path.read_text(encoding="utf-8"))
        blob = base64.b64encode(path.read_bytes()).decode("ascii")
        return types.BlobResourceContents(uri=uri, mime_type=media, blob=blob)


def _json(uri: str, value: Any) -> types.TextResourceContents:
    return types.TextResourceContents(uri=uri, mime_type="application/json", text=dumps(value))
