"""Scaling benchmark: ``segment`` (water) over a generated multi-scene AOI on Dask with 1, 2 and 4 workers.

Usage::

    python -m benchmarks.scaling                    # 2 x 2 scenes of 3000 px (36 Mpx, 4 bands), tiles of 512
    python -m benchmarks.scaling --scene 5000 --workers 1 2 4 8

What it does:

1. Generates ``grid x grid`` adjacent 4-band uint16 scenes (the same synthetic lakes/fields/bare land as
   :mod:`benchmarks.perf`, one seed per scene) and a VRT mosaic of them, registered as one catalog item: the AOI
   spans every scene, and each tile task reads the scenes under its window.
2. Runs the ``segment`` tool once in-process (threads, the reference) and once per worker count on a
   ``LocalCluster`` of processes (one thread each) reached by its address (``GEOVIGIE_DASK_SCHEDULER``): the same
   code path as a remote cluster. The cluster is started before the clock starts (its start-up is reported).
3. Reports per run: wall time of the tool call, speed-up over 1 worker, the tile phase (first task start to
   last task end, from Dask's task stream), the tasks' summed compute time, the scheduler overhead
   (tile phase minus compute / workers: time the workers were not computing tiles), the peak RSS of each worker
   process (GDAL_CACHEMAX = 128 MB, as in :mod:`benchmarks.perf`), and checks that every run gives the same water
fraction as the in-process reference.

On a machine with fewer free cores than workers the extra workers only time-share (the 4-worker run is then
"simulated in processes"): the load average is reported with each row. The table goes to stdout and the rows
to ``benchmarks/out/scaling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import rasterio
from distributed import Client, LocalCluster

from benchmarks.perf import BANDS, generate
from geovigie.tools.raster import close_dask_clients

OUT = Path(__file__).resolve().parent / "out" / "scaling.json"


def make_mosaic(folder: Path, grid: int, size: int) -> Path:
    """``grid x grid`` scenes of ``size`` px side by side, and a VRT over them (returned)."""
    paths = []
    for row in range(grid):
        for col in range(grid):
            path = folder / f"scene_{row}_{col}.tif"
            if not path.exists():
                generate(path, size, water_level=0.25, seed=7 + row * grid + col)
                with rasterio.open(path, "r+") as dst:  # move the scene to its place in the mosaic
                    t = dst.transform
                    dst.transform = t.__class__(t.a, 0, t.c + col * size * t.a, 0, t.e, t.f + row * size * t.e)
            paths.append(path)
    return _write_vrt(folder / "mosaic.vrt", paths, grid, size)


def _write_vrt(vrt: Path, paths: list[Path], grid: int, size: int) -> Path:
    with rasterio.open(paths[0]) as first:
        t, crs = first.transform, first.crs.to_wkt()
    side = grid * size
    bands = []
    for b, (name, _common) in enumerate(BANDS, start=1):
        sources = "".join(
            f"<SimpleSource><SourceFilename relativeToVRT='1'>{p.name}</SourceFilename><SourceBand>{b}</SourceBand>"
            f"<SrcRect xOff='0' yOff='0' xSize='{size}' ySize='{size}'/>"
            f"<DstRect xOff='{(i % grid) * size}' yOff='{(i // grid) * size}' xSize='{size}' ySize='{size}'/>"
            "</SimpleSource>"
            for i, p in enumerate(paths)
        )
        bands.append(
            f"<VRTRasterBand dataType='UInt16' band='{b}'><Description>{name}</Description>"
            f"<NoDataValue>0</NoDataValue>{sources}</VRTRasterBand>"
        )
    geo = f"{t.c}, {t.a}, 0, {t.f}, 0, {t.e}"
    vrt.write_text(
        f"<VRTDataset rasterXSize='{side}' rasterYSize='{side}'><SRS>{crs}</SRS>"
        f"<GeoTransform>{geo}</GeoTransform>{''.join(bands)}</VRTDataset>"
    )
    return vrt


def _context(home: Path, **overrides: Any) -> Any:
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext

    settings = Settings(home=home, stac_api_urls=[], llm_base_url=None, confirm_pixels=10**12,  # type: ignore[call-arg]
                        _env_file=None, **overrides)  # fmt: skip
    return ToolContext.from_settings(settings)


def _segment(vrt: Path, home: Path, tile: int, **overrides: Any) -> tuple[float, Any]:
    from benchmarks.perf import _item
    from geovigie.tools.catalog import upsert_item
    from geovigie.tools.segment import segment

    ctx = _context(home, tile_size=tile, **overrides)
    upsert_item(ctx.db, _item(vrt, "mosaic", "2024-06-01T10:00:00Z"), source_path=str(vrt), fingerprint="m")
    start = time.perf_counter()
    out = segment.run({"item_id": "mosaic", "target": "water"}, ctx)
    return time.perf_counter() - start, out.result


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_workers(vrt: Path, folder: Path, workers: int, tile: int) -> dict[str, Any]:
    """One Dask run with ``workers`` worker processes."""
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit="2GiB")  # fmt: skip
    client = Client(cluster)
    startup = time.perf_counter() - t0
    load = os.getloadavg()[0]
    try:
        with _task_stream(client) as stream:
            wall, res = _segment(vrt, folder / f"home_w{workers}", tile, executor="dask",
                                 dask_scheduler=cluster.scheduler_address)  # fmt: skip
        tasks = [t for t in stream.data if "tile-" in str(t.get("key", ""))]
        computes = [s for t in tasks for s in t["startstops"] if s["action"] == "compute"]
        busy = sum(s["stop"] - s["start"] for s in computes)
        span = max(s["stop"] for s in computes) - min(s["start"] for s in computes) if computes else 0.0
        peaks = client.run(_worker_peak_mb)
    finally:
        close_dask_clients()  # the tool's own client of this scheduler
        client.close()
        cluster.close()
    return {
        "workers": workers, "wall_s": round(wall, 2), "tile_phase_s": round(span, 2), "compute_s": round(busy, 2),
        "overhead_s": round(span - busy / workers, 2), "tasks": len(computes), "startup_s": round(startup, 2),
        "peak_rss_mb_per_worker": [round(v) for v in peaks.values()], "water_fraction": res.fraction,
        "tiles": res.tiles, "coverage": res.coverage, "load_1min": round(load, 2),
    }  # fmt: skip


def _task_stream(client: Client) -> Any:
    from distributed import get_task_stream

    return get_task_stream(client=client)


def markdown(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table."""
    lines = [
        "| workers | wall (s) | speed-up | tile phase (s) | compute (s) | overhead (s) | peak RSS / worker (MB) | "
        "load | water fraction |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    one = next((r["wall_s"] for r in rows if r["workers"] == 1), None)
    for r in rows:
        speed = f"{one / r['wall_s']:.2f}" if one and r["workers"] else "-"
        peaks = ", ".join(str(p) for p in r.get("peak_rss_mb_per_worker", [])) or "-"
        lines.append(
            f"| {r['workers'] or 'threads (in-process)'} | {r['wall_s']} | {speed} | {r.get('tile_phase_s', '-')} "
            f"| {r.get('compute_s', '-')} | {r.get('overhead_s', '-')} | {peaks} | {r['load_1min']} "
            f"| {r['water_fraction']:.6f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", type=int, default=2, help="Scenes per side of the mosaic (default 2).")
    parser.add_argument("--scene", type=int, default=3000, help="Scene edge in pixels (default 3000).")
    parser.add_argument("--tile", type=int, default=512, help="Tile edge in pixels (default 512).")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--workdir", type=Path, help="Keep the generated scenes here (reused when present).")
    args = parser.parse_args(argv)
    # As in benchmarks.perf: GDAL's block cache (5 % of RAM by default, per worker process) would hide the
    # tiles' own memory; worker processes inherit the variable.
    os.environ.setdefault("GDAL_CACHEMAX", "128")
    with tempfile.TemporaryDirectory(prefix="geovigie-scaling-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        vrt = make_mosaic(folder, args.grid, args.scene)
        load = os.getloadavg()[0]
        wall, ref = _segment(vrt, folder / "home_threads", args.tile, executor="threads")
        rows: list[dict[str, Any]] = [{"workers": 0, "wall_s": round(wall, 2), "water_fraction": ref.fraction,
                                       "tiles": ref.tiles, "load_1min": round(load, 2)}]  # fmt: skip
        for workers in args.workers:
            row = run_workers(vrt, folder, workers, args.tile)
            row["same_as_in_process"] = row["water_fraction"] == ref.fraction and row["tiles"] == ref.tiles
            rows.append(row)
    table = markdown(rows)
    print(table)
    context = {"cpu_count": os.cpu_count(), "scenes": args.grid**2, "scene_px": args.scene, "tile": args.tile,
               "pixels": (args.grid * args.scene) ** 2, "date": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"context": context, "rows": rows, "markdown": table}, indent=1))


if __name__ == "__main__":
    main()
