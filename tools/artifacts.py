"""Content-addressed artifact store: PNG quicklooks/overlays, GeoJSON (EPSG:4326) and COG masks."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from PIL import Image

from geovigie.core.domain import ArtifactKind, ArtifactRef, BBox
from geovigie.core.errors import TerminalError

_MEDIA_TYPES: dict[str, str] = {
    "png": "image/png",
    "geojson": "application/geo+json",
    "cog": "image/tiff; application=geotiff; profile=cloud-optimized",
    "json": "application/json",
    "markdown": "text/markdown",
    "html": "text/html",
}
_EXTENSIONS: dict[str, str] = {
    "png": ".png",
    "geojson": ".geojson",
    "cog": ".tif",
    "json": ".json",
    "markdown": ".md",
    "html": ".html",
}


class ArtifactStore:
    """Writes artifacts under one folder, named by the hash of their content (idempotent, no collisions)."""

    def __init__(self, root: Path) -> None:
        """Use ``root`` as the artifacts folder (created if missing)."""
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, artifact_id: str) -> Path:
        """Path of an artifact id, refusing anything that would escape the folder.

        Raises:
            TerminalError: if the id is not a plain file name inside the store.
        """
        candidate = (self.root / artifact_id).resolve()
        if candidate.parent != self.root or not candidate.is_file():
            raise TerminalError(f"No artifact named {artifact_id!r}.", hint="Use an id returned by a tool.")
        return candidate

    def _write(self, data: bytes, *, kind: ArtifactKind, title: str, role: str, bbox: BBox | None) -> ArtifactRef:
        digest = hashlib.sha256(data).hexdigest()[:24]
        artifact_id = digest + _EXTENSIONS[kind]
        path = self.root / artifact_id
        if not path.exists():
            # Write then rename, so a crash or a full disk never leaves a half-written artifact.
            tmp: str | None = None
            try:
                fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".part")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except OSError as exc:
                if tmp is not None:  # mkstemp itself fails in a read-only folder
                    Path(tmp).unlink(missing_ok=True)
                raise TerminalError(
                    f"Could not write the {kind} artifact: {exc.strerror or type(exc).__name__}.",
                    hint="Free disk space in the artifacts folder (GEOVIGIE_ARTIFACTS_DIR) and retry.",
                ) from exc
        return ArtifactRef(
            id=artifact_id,
            kind=kind,
            media_type=_MEDIA_TYPES[kind],
            title=title,
            path=str(path),
            role=role,
            bbox=bbox,
        )

    def save_png(
        self,
        rgb: np.ndarray,
        *,
        title: str,
        role: str,
        bbox: BBox | None = None,
        legend: list[tuple[str, str]] | None = None,
    ) -> ArtifactRef:
        """Save an (H, W, 3|4) uint8 array as PNG.

        Args:
            rgb: The picture.
            title: Shown with the picture.
            role: What it shows (quicklook, overlay, before, after, boxes...).
            bbox: Exact WGS84 bounds of its pixel edges when it is a web-map picture (see ``to_web_map``).
            legend: Colour key as (label, ``#rrggbb``), shown beside the picture rather than drawn into it.
        """
        buf = io.BytesIO()
        # zlib level 1: half the encoding time of the default 6 for ~2 % larger files on satellite pictures.
        Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", optimize=False, compress_level=1)
        ref = self._write(buf.getvalue(), kind="png", title=title, role=role, bbox=bbox)
        return ref.model_copy(update={"legend": list(legend or [])})

    def save_geojson(
        self, collection: dict[str, Any], *, title: str, role: str, bbox: BBox | None = None
    ) -> ArtifactRef:
        """Save a GeoJSON FeatureCollection (coordinates must be EPSG:4326)."""
        data = json.dumps(collection, separators=(",", ":"), sort_keys=True).encode()
        return self._write(data, kind="geojson", title=title, role=role, bbox=bbox)

    def save_json(self, payload: dict[str, Any], *, title: str, role: str) -> ArtifactRef:
        """Save a JSON document."""
        data = json.dumps(payload, indent=1, sort_keys=True, default=str).encode()
        return self._write(data, kind="json", title=title, role=role, bbox=None)

    def save_text(self, text: str, *, kind: ArtifactKind, title: str, role: str) -> ArtifactRef:
        """Save a Markdown or HTML document."""
        return self._write(text.encode(), kind=kind, title=title, role=role, bbox=None)

    def save_cog(
        self,
        array: np.ndarray,
        *,
        transform: Affine,
        crs: Any,
        title: str,
        role: str,
        nodata: float | None = None,
        bbox: BBox | None = None,
    ) -> ArtifactRef:
        """Save a single-band or (bands, H, W) array as a Cloud-Optimized GeoTIFF."""
        data = array[np.newaxis] if array.ndim == 2 else array
        if data.dtype == bool:
            data = data.astype(np.uint8)
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tif.part")
        os.close(fd)
        try:
            profile: dict[str, Any] = {
                "driver": "COG",
                "width": data.shape[2],
                "height": data.shape[1],
                "count": data.shape[0],
                "dtype": data.dtype.name,
                "compress": "DEFLATE",
                "transform": transform,
                "nodata": nodata,
            }
            if crs is not None:
                profile["crs"] = crs
            elif transform == Affine.identity():
                del profile["transform"]  # plain image: GDAL warns on an identity geotransform and ignores it
            with rasterio.open(tmp, "w", **profile) as dst:
                dst.write(data)
            payload = Path(tmp).read_bytes()
        finally:
            Path(tmp).unlink(missing_ok=True)
        return self._write(payload, kind="cog", title=title, role=role, bbox=bbox)

    def save_file(
        self, path: Path, *, kind: ArtifactKind, title: str, role: str, bbox: BBox | None = None
    ) -> ArtifactRef:
        """Move an existing file (e.g. a large COG written tile by tile) into the store, named by its hash.

        The file is hashed in 1 MiB chunks, so this never holds it in memory. ``path`` is consumed.
        """
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        artifact_id = digest.hexdigest()[:24] + _EXTENSIONS[kind]
        target = self.root / artifact_id
        try:
            if target.exists():
                path.unlink()
            else:
                shutil.move(str(path), target)
        except OSError as exc:
            raise TerminalError(
                f"Could not store the {kind} artifact: {exc.strerror or exc}.",
                hint="Free disk space in the artifacts folder (GEOVIGIE_ARTIFACTS_DIR) and retry.",
            ) from exc
        return ArtifactRef(
            id=artifact_id,
            kind=kind,
            media_type=_MEDIA_TYPES[kind],
            title=title,
            path=str(target),
            role=role,
            bbox=bbox,
        )
