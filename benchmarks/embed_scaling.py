"""Embedding benchmark: Presto embeddings of one real scene in-process and on Dask with 1 and 2 workers.

Usage::

    python -m benchmarks.embed_scaling                  # Sen1Floods11 Spain_7370579 S2, central 256², tiles of 64
    python -m benchmarks.embed_scaling --size 512 --tile 128 --workers 1 2 4

What it does: ingests the Sentinel-2 chip of the Sen1Floods11 sample (``GEOVIGIE_DATA_DIR``) into a temporary
catalog, then embeds the central ``size`` x ``size`` px with the real Presto ONNX export (``embed``, cache off):
once in this process, then on a ``LocalCluster`` of processes (one thread each) per worker count, twice: cold
(the workers import the modules and open their onnxruntime session in their first task) and warm. The cluster
is started before the clock starts (its start-up is reported). Each row says whether its vectors are bit-identical
to the in-process ones. The load average is reported with each row: on a machine with fewer free cores than
workers (and onnxruntime's own threads in each worker) the figures say little about scaling. The table goes to
stdout and the rows to ``benchmarks/out/embed_scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, LocalCluster
from rasterio.windows import Window

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import get_scene, ingest_paths
from geovigie.tools.embed import embed
from geovigie.tools.raster import Execution, scene_grid

OUT = Path(__file__).resolve().parent / "out" / "embed_scaling.json"
CHIP = Path("sen1floods11_sample") / "Spain_7370579_S2Hand.tif"


def _row(name: str, seconds: float, emb: Any, ref: np.ndarray | None, **extra: Any) -> dict[str, Any]:
    pixels = int(emb.valid.size)
    return {
        "run": name,
        "seconds": round(seconds, 2),
        "s_per_km2": round(seconds / (pixels * (emb.grid.pixel_size_m or 10.0) ** 2 / 1e6), 2),
        "tiles": emb.run.tiles if emb.run else None,
        "identical": None if ref is None else bool(np.array_equal(emb.vectors, ref)),
        "load": round(os.getloadavg()[0], 2),
        **extra,
    }


def run(size: int, tile: int, workers: list[int]) -> list[dict[str, Any]]:
    """Every row: in-process, then cold and warm per worker count."""
    base = Settings()
    chip = base.data_dir / CHIP
    if not chip.is_file():
        raise SystemExit(f"sample not found: {chip} (set GEOVIGIE_DATA_DIR)")
    with tempfile.TemporaryDirectory(prefix="geovigie-embed-bench-") as home:
        # The real ONNX export is reused from the usual models cache: nothing is converted here.
        settings = Settings(home=Path(home), models_cache_dir=base.resolved_models_cache_dir)
        ctx = ToolContext.from_settings(settings)
        report = ingest_paths([chip], ctx.db)
        scene = get_scene(ctx.db, (report.added + report.updated + report.unchanged)[0])
        full = scene_grid(scene, None)
        off = (full.width - size) // 2
        grid = full.subgrid(Window(off, off, size, size))
        start = time.perf_counter()
        local = embed([scene], grid, settings, tile_size=tile, use_cache=False)
        rows = [_row("in-process", time.perf_counter() - start, local, None, workers="-")]
        for n in workers:
            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
            with Client(cluster, set_as_default=False) as client:
                started = time.perf_counter() - t0
                execution = Execution(settings=settings, tool="bench", client=client)
                for phase in ("cold", "warm"):
                    start = time.perf_counter()
                    emb = embed([scene], grid, settings, tile_size=tile, use_cache=False, execution=execution)
                    rows.append(_row(f"dask {phase}", time.perf_counter() - start, emb, local.vectors, workers=n,
                                     cluster_start_s=round(started, 2)))  # fmt: skip
            cluster.close()
    return rows


def markdown(rows: list[dict[str, Any]], size: int, tile: int) -> str:
    """The rows as a README table."""
    lines = [
        f"Presto, Sen1Floods11 Spain_7370579 S2, {size}² px, tiles of {tile} px, cache off",
        "",
        "| run | workers | wall (s) | s per km² | tiles | bit-identical | load |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        same = "-" if r["identical"] is None else ("yes" if r["identical"] else "NO")
        lines.append(f"| {r['run']} | {r['workers']} | {r['seconds']} | {r['s_per_km2']} | {r['tiles']} | {same} | "
                     f"{r['load']} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--tile", type=int, default=64)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = run(args.size, args.tile, args.workers)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(rows, indent=2))
    print(markdown(rows, args.size, args.tile))  # noqa: T201 - the table is the output


if __name__ == "__main__":
    main()
