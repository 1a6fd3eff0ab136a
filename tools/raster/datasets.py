"""Open raster handles: one-off opens with actionable errors, and per-thread handles kept for tiled runs.

Every open goes through :func:`geovigie.tools.raster.vsi.resolve`, so a remote item's href is checked against
its allowed hosts and signed whoever opens it.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.io import DatasetReader

from geovigie.core.errors import ToolInputError
from geovigie.tools.raster.vsi import resolve


@contextmanager
def open_raster(href: str) -> Iterator[DatasetReader]:
    """Open a raster, turning GDAL failures into actionable errors."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(resolve(href)) as src:
                yield src
    except RasterioIOError as exc:
        raise _unreadable(href, exc) from exc


def _unreadable(href: str, exc: Exception) -> ToolInputError:
    # Only the file name: the server's folders are no business of the person (or model) reading the message, and
    # GDAL's own text repeats the path.
    name = href.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]  # never a signing token either
    reason = str(exc).replace(href, name)
    return ToolInputError(
        f"Cannot read raster {name}: {reason}.",
        hint=(
            "The remote file could not be read (network, refused or expired signature, moved asset): retry, "
            "or search again to refresh the item."
            if href.lower().startswith(("http://", "https://", "/vsicurl/"))
            else "Check that the file exists and is a valid GeoTIFF/COG/PNG, then re-ingest it."
        ),
    )


class DatasetCache:
    """Datasets kept open for the length of a tiled run: one handle per file and per thread.

    Re-opening a file for every tile costs ~1 ms per band and drops its blocks from GDAL's block cache, so
    neighbouring tiles whose overlapping windows share border blocks would read and decode them twice. GDAL
    handles are not thread-safe, so each thread gets its own. Use as a context manager (closes them all).
    """

    def __init__(self) -> None:
        """An empty cache."""
        self._local = threading.local()
        self._opened: list[DatasetReader] = []
        self._lock = threading.Lock()

    def get(self, href: str) -> DatasetReader:
        """This thread's open handle on ``href``.

        Raises:
            ToolInputError: the file cannot be opened.
        """
        handles: dict[str, DatasetReader] | None = getattr(self._local, "handles", None)
        if handles is None:
            handles = self._local.handles = {}
        src = handles.get(href)
        if src is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NotGeoreferencedWarning)
                    src = rasterio.open(resolve(href))
            except RasterioIOError as exc:
                raise _unreadable(href, exc) from exc
            handles[href] = src
            with self._lock:
                self._opened.append(src)
        return src

    def close(self) -> None:
        """Close every handle (of every thread)."""
        with self._lock:
            for src in self._opened:
                src.close()
            self._opened.clear()
            self._local = threading.local()

    def __enter__(self) -> DatasetCache:
        """Context manager entry."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close every handle."""
        self.close()


@contextmanager
def cached_or_open(href: str, datasets: DatasetCache | None) -> Iterator[DatasetReader]:
    """This thread's cached handle on ``href`` when ``datasets`` is given, else a handle opened for the block."""
    if datasets is None:
        with open_raster(href) as src:
            yield src
        return
    try:
        yield datasets.get(href)
    except RasterioIOError as exc:
        raise _unreadable(href, exc) from exc
