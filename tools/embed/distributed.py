"""Embeddings on Dask (``dask.distributed``): one task per tile, assembled by the client as tasks finish.

The client submits one task per tile of the grid, at most ``4 x workers`` at a time, so the scheduler's queue
and the client's memory stay bounded however large the AOI. A task reads its tile's window itself (the scene
files and the ONNX graph must be readable from the workers at the same paths, as for tiled segmentation), runs
the encoder and returns the tile's vectors as float16 (the precision the cache stores) with its validity mask.
The encoder is a parameter (:class:`TileEncoder`): :class:`OnnxTiles` pairs an ONNX graph with a module-level
tile function, so that it pickles small and each worker process opens its own onnxruntime session once
(``session`` caches per process). The client places each tile into the (H, W, D) map (a memory-mapped ``.npy``
under ``home/runs/`` for grids over :data:`MEMMAP_BYTES`), reports progress per tile, and leaves retries of failed
tasks and dead workers to the scheduler (``tile_retries``); a tile that still fails is reported in
:class:`EmbedRun` and left invalid. The per-tile work is the in-process path's own tile function, so both paths
give bit-identical vectors.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from geovigie.core.errors import NoDataError
from geovigie.tools.models import session
from geovigie.tools.raster import Execution, Grid, Scene, Tile, dask_client, iter_tiles, task_outcome

if TYPE_CHECKING:
    from distributed import Client

Progress = Callable[[float, str], None]
TileFn = Callable[[Any, Sequence[Scene], Sequence[str], Grid], tuple[np.ndarray, np.ndarray]]
"""(session, scenes, bands, tile grid) -> ((h, w, D) float16 vectors, (h, w) bool valid)."""

MEMMAP_BYTES = 256 * 1024 * 1024
"""Maps larger than this (float32) are assembled in a memory-mapped file instead of RAM (512² x 128 = 128 MiB)."""


class TileEncoder(Protocol):
    """What a task runs on one tile: picklable, called in the worker process."""

    def __call__(
        self, scenes: Sequence[Scene], bands: Sequence[str], grid: Grid
    ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - protocol
        """(h, w, D) float16 vectors and (h, w) bool validity of the tile ``grid``."""
        ...


@dataclass(frozen=True)
class OnnxTiles:
    """A tile encoder over an ONNX graph: a path and a module-level function, so it pickles in a few bytes.

    Each process that calls it (the client, or a Dask worker) opens the graph's session once and keeps it.
    """

    onnx: str
    fn: TileFn
    device: Literal["auto", "cpu", "gpu"] = "cpu"

    def __call__(self, scenes: Sequence[Scene], bands: Sequence[str], grid: Grid) -> tuple[np.ndarray, np.ndarray]:
        """Vectors and validity of one tile (see :data:`TileFn`)."""
        return self.fn(session(Path(self.onnx), self.device), scenes, bands, grid)


@dataclass
class EmbedRun:
    """Which execution computed an embedding map: what provenance and notes report."""

    kind: Literal["local", "dask", "cache"]
    workers: int
    tiles: int
    failed: dict[int, str] = field(default_factory=dict)
    """Tiles that failed after their retries (index -> error); their pixels are invalid."""
    cancelled: bool = False
    scheduler: str | None = None
    memory_mapped: bool = False
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        """True when every tile was computed (what may be cached)."""
        return not self.failed and not self.cancelled

    def as_dict(self) -> dict[str, Any]:
        """The run as provenance parameters carry it."""
        out: dict[str, Any] = {"executor": self.kind, "workers": self.workers, "tiles": self.tiles,
                               "seconds": round(self.seconds, 2)}  # fmt: skip
        if self.kind == "dask":
            out |= {"scheduler": self.scheduler or "local cluster", "failed_tiles": sorted(self.failed),
                    "memory_mapped": self.memory_mapped}  # fmt: skip
        return out

    def note(self) -> str:
        """One sentence for the answer's notes."""
        if self.kind == "cache":
            return "Embeddings read from the cache (computed by an earlier request on the same items and grid)."
        if self.kind == "local":
            return f"Embeddings computed in this process ({self.tiles} tiles, {self.seconds:.1f} s)."
        text = (f"Embeddings computed on Dask ({self.scheduler or 'local cluster'}, {self.workers} workers, "
                f"{self.tiles} tiles, {self.seconds:.1f} s)")  # fmt: skip
        if self.failed:
            first = min(self.failed)
            text += (f"; {len(self.failed)} of {self.tiles} tiles failed after retries and are left out (tile {first}: "
                     f"{self.failed[first]})")  # fmt: skip
        if self.cancelled:
            text += "; cancelled before the end: the tiles not computed are left out"
        return text + "."


def embed_kind(execution: Execution, pixels: int) -> Literal["local", "dask"]:
    """Where an embedding of ``pixels`` pixels runs: the settings' executor, else Dask over ``embed_dask_min_pixels``.

    An embedding costs hundreds of times more per pixel than a threshold, so its threshold is its own
    (``embed_dask_min_pixels``), not the tiled runs' ``dask_min_pixels``.
    """
    settings = execution.settings
    if settings.executor == "auto" and execution.client is None and not settings.dask_scheduler:
        return "dask" if pixels > settings.embed_dask_min_pixels else "local"
    return "dask" if execution.kind(pixels) == "dask" else "local"


def encode_tile(
    encoder: TileEncoder, scenes: Sequence[Scene], bands: Sequence[str], grid: Grid, tile: Tile
) -> tuple[np.ndarray, np.ndarray]:
    """One task: the float16 vectors and validity of one tile, read by the worker itself."""
    return encoder(scenes, bands, grid.subgrid(tile.read))


def embed_on_dask(
    scenes: Sequence[Scene],
    bands: Sequence[str],
    grid: Grid,
    encoder: TileEncoder,
    execution: Execution,
    *,
    tile_size: int,
    dim: int,
    progress: Progress | None = None,
    label: str = "",
    memmap_bytes: int = MEMMAP_BYTES,
) -> tuple[np.ndarray, np.ndarray, EmbedRun]:
    """Every tile of ``grid`` embedded as a Dask task (see module docstring).

    Args:
        scenes: The dates to embed, read onto ``grid`` by each task.
        bands: Bands each task reads.
        grid: The pixels to embed.
        encoder: What a task runs on its tile (the model choice: Presto, or another encoder).
        execution: The cluster (its ``client``, else the one the settings describe) and the cancel flag.
        tile_size: Tile edge in pixels (no overlap: per-pixel models need no context).
        dim: Length of each vector.
        progress: Receives (fraction done, message) after each tile.
        label: The model's name in progress messages.
        memmap_bytes: Maps over this size are assembled in a memory-mapped file under ``home/runs/``.

    Returns:
        (H, W, dim) float32 vectors (float16 precision, zeros where invalid), (H, W) validity, and the run.

    Raises:
        NoDataError: every tile failed.
    """
    settings = execution.settings
    start = time.perf_counter()
    client = execution.client if execution.client is not None else dask_client(settings)
    tiles = list(iter_tiles(grid, tile_size=tile_size, overlap=0))
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    run = EmbedRun("dask", workers, len(tiles), scheduler=settings.dask_scheduler)
    h, w = grid.shape
    vectors = _allocate((h, w, dim), settings.home / "runs", memmap_bytes)
    run.memory_mapped = isinstance(vectors, np.memmap)
    valid = np.zeros((h, w), bool)
    done = 0

    def place(index: int, result: tuple[np.ndarray, np.ndarray] | None, error: str) -> None:
        nonlocal done
        if result is None:
            run.failed[index] = error
        else:
            core = tiles[index].core
            rows = slice(int(core.row_off), int(core.row_off + core.height))
            cols = slice(int(core.col_off), int(core.col_off + core.width))
            vectors[rows, cols], valid[rows, cols] = result
        done += 1
        if progress is not None:
            progress(done / len(tiles), f"embedding tile {done}/{len(tiles)} ({label}, dask, {workers} workers)")

    _submit_all(client, tiles, (encoder, tuple(scenes), tuple(bands), grid), execution, run, place)
    run.seconds = time.perf_counter() - start
    if run.failed and len(run.failed) == len(tiles):
        index = min(run.failed)
        raise NoDataError(
            f"Every tile of the embedding failed on Dask ({len(tiles)} tiles; tile {index}: {run.failed[index]}).",
            hint="Check that the workers can read the scene files and the model at the same paths, then ask again.",
        )
    return vectors, valid, run


def _allocate(shape: tuple[int, int, int], folder: Path, memmap_bytes: int) -> np.ndarray:
    """Zeros of ``shape`` (float32): in RAM, or in a memory-mapped ``.npy`` under ``folder`` when large.

    The file is unlinked once mapped (POSIX): the mapping keeps its pages, the page cache can write them back to
    disk instead of swap, and nothing is left behind when the map is dropped or the process dies.
    """
    if int(np.prod(shape)) * 4 <= memmap_bytes:
        return np.zeros(shape, np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"embed-{uuid.uuid4().hex[:12]}.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    with contextlib.suppress(OSError):  # Windows keeps a mapped file: it is then left in home/runs
        os.unlink(path)
    return out


def _submit_all(
    client: Client,
    tiles: list[Tile],
    job: tuple[TileEncoder, tuple[Scene, ...], tuple[str, ...], Grid],
    execution: Execution,
    run: EmbedRun,
    place: Callable[[int, tuple[np.ndarray, np.ndarray] | None, str], None],
) -> None:
    """Submit the tiles with bounded look-ahead; hand each result or failure to ``place``; honour cancel."""
    from distributed import as_completed

    ahead = 4 * run.workers
    queue = iter(range(len(tiles)))
    pending: dict[str, int] = {}
    prefix = f"embed-{uuid.uuid4().hex[:12]}"
    futures = as_completed(loop=client.loop)  # this client, which need not be the process default

    def submit_next() -> bool:
        index = next(queue, None)
        if index is None:
            return False
        future = client.submit(encode_tile, *job, tiles[index], key=f"{prefix}-{index}",
                               retries=execution.settings.tile_retries, pure=False)  # fmt: skip
        pending[str(future.key)] = index
        futures.add(future)
        return True

    while len(pending) < ahead and submit_next():
        pass
    for future in futures:
        index = pending.pop(str(future.key))
        settled = task_outcome(future)
        if settled is not None:
            place(index, *settled)
        future.release()  # the tile is in the map: its bytes may leave the worker
        if execution.cancelled():
            run.cancelled = True
            client.cancel([f for f in futures.futures if str(f.key) in pending], force=True)
            break
        submit_next()
    futures.clear()
