"""Performance benchmark: segment (water) and detect_change on a large generated COG vs a raw rasterio baseline.

Usage::

    python -m benchmarks.perf                 # 5 000 and 20 000 px (400 Mpx, 4 bands: several minutes)
    python -m benchmarks.perf --size 4000     # quick run (1 000 and 4 000 px)
    python -m benchmarks.perf --workdir /tmp/perf   # keep the generated scenes there and reuse them

What it does, in one run:

1. Generates a 4-band uint16 GeoTIFF (B04 red, B03 green, B08 nir, B11 swir16; reflectance x 10 000), tiled
   512 x 512, uncompressed, with internal overviews (like a COG), EPSG:32631 at 10 m. The data are random
   but structured: lakes, fields and bare land from a smooth random field, plus a fixed noise pattern. A
   second date with larger lakes is generated for ``detect_change``.
2. Measures each step in its own subprocess, so that each peak RSS (``VmHWM``, reset once the modules are
   imported) is its own:

   * **baseline**: raw rasterio reads of every 512 x 512 block of the 4 bands + numpy NDWI, NDVI and
     thresholds (the least any tool could do: read everything once, compute two indices), single-threaded.
     It runs before and after the tools; ratios use the mean of the two runs (the machine may be shared);
   * **segment**: the real tool path (catalog item -> ``segment`` target water on the full extent: sample and
     thresholds, tiled cloud test + MNDWI mask, class COG, polygons, overlay PNG);
   * **detect_change**: ``geovigie.tools.change.tool.detect_change`` (preset flood) between the two dates: calibration
     passes, tiled classification of both dates, class COG, polygons, before/after/overlay PNGs.

3. Does it at a quarter of the size too (``--no-scaling`` to skip), to show that peak memory depends on the
   tile size, not on the scene size.

Reported per step: wall time, CPU time of the process (user + system, all threads: steadier than wall time on a
shared machine), throughput (Mpx/s of one band), ratio to the baseline (goal <= 1.5), peak RSS
of the process and the RSS growth during the step (peak minus the RSS after imports), plus the 1-minute load
average when the step started (a loaded machine slows every step). The Markdown table goes to stdout, the
same rows as JSON to ``benchmarks/out/perf.json``. Every measured process runs with ``GDAL_CACHEMAX=128``
(MB), so that GDAL's block cache (5 % of RAM by default) does not mask the tools' own memory. The tools run
in-process (``executor=threads``, no confirmation step): Dask is measured by :mod:`benchmarks.scaling`.
``detect_change`` is compared with the two-date baseline (both dates read, MNDWI difference): its floor.

Where the time goes (py-spy, 50 Hz, all threads, 10 000 px, 2 shared cores, 2026-12-01):

* **segment** (2.0 s of tool time when the baseline took 1.0 s): the tiled pass 0.8 s (two threads reading
  and classifying; the consumer thread counting and writing the ZSTD scratch tiles 0.26 s, the COG 0.2 s),
  then fixed costs that do not shrink with the scene: polygons 0.56 s (1 284 polygons on the class raster
  decimated x8; shapely's Python-level coordinate conversions take 0.3 s of it), overlay PNG 0.3 s, threshold
  sample 0.2 s. The floor it is measured against reads every block once and does no output at all.
* **detect_change** (6 s): outputs 4 s, two thirds of it: polygons of the flood mask 2.5 s (390 000 vertices
  on the mask decimated x2: GDAL polygonize into Python lists 1.1 s, shapely construction 0.4 s, simplify
  0.45 s, GeoJSON dicts 0.45 s, a 12 MB GeoJSON), before/after/overlay PNGs 0.8 s; calibration 1.3 s (of which
  random sample gathers at shuffled indices 0.3 s and ``rng.choice`` 0.2 s); the classify pass itself 0.6 s.

Changed after profiling: the calibration's sample indices are sorted (the same draw; gathers ~15x faster);
Dask tiles are written as raw ``.npy`` instead of one GeoTIFF writer per tile (~14 ms each). Tried and
reverted: building shapely polygons and GeoJSON from ragged coordinate arrays (identical output, no faster:
``tolist`` of the coordinates costs what shapely's iteration did); tracing change polygons at segment's 4 Mpx
cap (the x8 decimation broke thin flooded strips into dots: 3 867 polygons instead of 1 233). Not changed: the
polygon step would need GeoJSON written from shapely's C encoder without Python dicts (a change of the artifact
contract).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import Window

from benchmarks.perf_report import _context_info, markdown

BANDS = [("B04", "red"), ("B03", "green"), ("B08", "nir"), ("B11", "swir16")]
# Reflectance x 10 000 of the three surfaces (red, green, nir, swir16).
WATER = np.array([300, 500, 200, 100], np.float32)
VEGETATION = np.array([400, 700, 3000, 1500], np.float32)
BARE = np.array([1500, 1300, 2000, 2600], np.float32)
BLOCK = 512
GDAL_CACHE_MB = 128
"""GDAL block cache of each measured process (same for the baseline and the tools)."""
OUT_DIR = Path(__file__).resolve().parent / "out"
CELL = 96
"""Pixels per cell of the coarse random field (size of the lakes and fields)."""


def _field_strip(coarse: np.ndarray, row0: int, rows: int, width: int) -> np.ndarray:
    """Bilinear interpolation of the coarse random field on rows [row0, row0 + rows)."""
    y = (np.arange(row0, row0 + rows) / CELL)[:, None]
    x = (np.arange(width) / CELL)[None, :]
    y0, x0 = y.astype(int), x.astype(int)
    fy, fx = (y - y0).astype(np.float32), (x - x0).astype(np.float32)
    top = coarse[y0, x0] * (1 - fx) + coarse[y0, x0 + 1] * fx
    bottom = coarse[y0 + 1, x0] * (1 - fx) + coarse[y0 + 1, x0 + 1] * fx
    out: np.ndarray = top * (1 - fy) + bottom * fy
    return out


def generate(path: Path, size: int, *, water_level: float, seed: int = 7) -> float:
    """Write the synthetic scene; returns the seconds spent."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    coarse = rng.random((size // CELL + 3, size // CELL + 3)).astype(np.float32)
    noise = rng.integers(-150, 150, size=(4, BLOCK, BLOCK), dtype=np.int16).astype(np.float32)
    profile: dict[str, Any] = {
        "driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16", "tiled": True,
        "blockxsize": BLOCK, "blockysize": BLOCK, "interleave": "band", "crs": "EPSG:32631", "nodata": 0,
        "transform": Affine(10, 0, 500_000, 0, -10, 5_000_000), "BIGTIFF": "IF_SAFER",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for i, (name, _common) in enumerate(BANDS, start=1):
            dst.set_band_description(i, name)
        for row in range(0, size, BLOCK):
            rows = min(BLOCK, size - row)
            field = _field_strip(coarse, row, rows, size)
            water = field < water_level
            bare = field > 0.8
            reps = -(-size // BLOCK)
            tiled_noise = np.tile(noise[:, :rows], (1, 1, reps))[:, :, :size]
            out = VEGETATION[:, None, None] * (0.8 + 0.4 * field)[None] + tiled_noise
            out = np.where(water[None], WATER[:, None, None] + tiled_noise * 0.3, out)
            out = np.where(bare[None], BARE[:, None, None] + tiled_noise, out)
            dst.write(np.clip(out, 1, 10_000).astype(np.uint16), window=Window(0, row, size, rows))
    with rasterio.open(path, "r+") as dst:
        factors = [f for f in (2, 4, 8, 16, 32, 64, 128) if size // f >= 256]
        dst.build_overviews(factors, Resampling.nearest)
    return time.perf_counter() - start


def _item(path: Path, item_id: str, date: str) -> dict[str, Any]:
    with rasterio.open(path) as src:
        from rasterio.warp import transform_bounds

        bbox = list(transform_bounds(src.crs, "EPSG:4326", *src.bounds))
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": item_id, "collection": "perf", "geometry": None,
        "bbox": bbox, "links": [],
        "properties": {"datetime": date, "gsd": 10.0, "geovigie:scale": 1e-4, "platform": "synthetic"},
        "assets": {"data": {"href": str(path), "roles": ["data"],
                            "eo:bands": [{"name": n, "common_name": c} for n, c in BANDS]}},
    }  # fmt: skip


def _reset_peak() -> None:
    # A child inherits its parent's peak RSS through fork: reset the high-water mark (Linux >= 4.0).
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux (and may include the parent's peak at fork time).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def work_baseline(path: Path) -> dict[str, Any]:
    """Read every block of the 4 bands with rasterio, compute NDWI and NDVI, threshold, count."""
    start = time.perf_counter()
    water = veg = 0
    with rasterio.open(path) as src:
        for _ij, window in src.block_windows(1):
            red, green, nir, _swir = src.read(window=window).astype(np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                ndwi = (green - nir) / (green + nir)
                ndvi = (nir - red) / (nir + red)
            water += int((ndwi > 0).sum())
            veg += int((ndvi > 0.3).sum())
        pixels = src.width * src.height
    return {"wall_s": time.perf_counter() - start, "pixels": pixels, "water_px": water, "veg_px": veg}


def work_baseline_pair(path_a: Path, path_b: Path) -> dict[str, Any]:
    """The floor of a change run: read every block of both dates, MNDWI of each, difference, threshold, count."""
    start = time.perf_counter()
    gain = 0
    with rasterio.open(path_a) as src_a, rasterio.open(path_b) as src_b:
        for _ij, window in src_a.block_windows(1):
            _r, ga, _n, sa = src_a.read(window=window).astype(np.float32)
            _r, gb, _n, sb = src_b.read(window=window).astype(np.float32)
            with np.errstate(divide="ignore", invalid="ignore"):
                delta = (gb - sb) / (gb + sb) - (ga - sa) / (ga + sa)
            gain += int((delta > 0.2).sum())
        pixels = src_a.width * src_a.height
    return {"wall_s": time.perf_counter() - start, "pixels": pixels, "gain_px": gain}


def _context(home: Path) -> Any:
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext

    # The in-process path (threads) is measured here, with no confirmation step; benchmarks.scaling measures Dask.
    settings = Settings(home=home, stac_api_urls=[], llm_base_url=None, executor="threads",  # type: ignore[call-arg]
                        confirm_pixels=10**12, _env_file=None)  # fmt: skip
    return ToolContext.from_settings(settings)


def work_segment(path: Path, home: Path) -> dict[str, Any]:
    """The segment tool (water) on the whole scene, through the catalog."""
    from geovigie.tools.catalog import upsert_item
    from geovigie.tools.segment import segment

    ctx = _context(home)
    upsert_item(ctx.db, _item(path, "perf-a", "2024-06-01T10:00:00Z"), source_path=str(path), fingerprint="a")
    start = time.perf_counter()
    out = segment.run({"item_id": "perf-a", "target": "water"}, ctx)
    res = out.result
    return {"wall_s": time.perf_counter() - start, "pixels": res.valid_pixels, "water_fraction": res.fraction,
            "polygons": res.polygon_count, "tiles": res.tiles, "cloud_fraction": res.cloud_fraction}  # fmt: skip


def work_change(path_a: Path, path_b: Path, home: Path) -> dict[str, Any]:
    """``detect_change`` between the two dates (skipped when tools.change does not exist)."""
    try:
        detect_change = importlib.import_module("geovigie.tools.change.tool").detect_change
    except (ImportError, AttributeError) as exc:
        return {"skipped": f"tools.change.detect_change not available ({exc})"}
    from geovigie.tools.catalog import upsert_item

    ctx = _context(home)
    upsert_item(ctx.db, _item(path_a, "perf-a", "2024-06-01T10:00:00Z"), source_path=str(path_a), fingerprint="a")
    upsert_item(ctx.db, _item(path_b, "perf-b", "2024-07-01T10:00:00Z"), source_path=str(path_b), fingerprint="b")
    fields = set(detect_change.input_model.model_fields)
    before = next((f for f in ("before_item_id", "before_id", "item_id_before") if f in fields), None)
    after = next((f for f in ("after_item_id", "after_id", "item_id_after") if f in fields), None)
    if before is None or after is None:
        return {"skipped": f"unknown detect_change arguments {sorted(fields)}"}
    args: dict[str, Any] = {before: "perf-a", after: "perf-b"}
    if "preset" in fields:
        args["preset"] = "flood"
    start = time.perf_counter()
    out = detect_change.run(args, ctx)
    with rasterio.open(path_a) as src:
        pixels = src.width * src.height
    return {"wall_s": time.perf_counter() - start, "pixels": pixels, "summary": out.summary[:160]}


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _worker(argv: list[str]) -> None:
    kind, *paths = argv
    p = [Path(x) for x in paths]
    if not kind.startswith("baseline"):
        # Imports (~200 MB of libraries) are not part of the step: load them before the peak is reset.
        importlib.import_module("tools")
        importlib.import_module("geovigie.tools.change.tool")
    _reset_peak()
    start_rss = _rss_mb()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if kind == "baseline":
        out = work_baseline(p[0])
    elif kind == "baseline_pair":
        out = work_baseline_pair(p[0], p[1])
    elif kind == "segment":
        out = work_segment(p[0], p[1])
    else:
        out = work_change(p[0], p[1], p[2])
    peak = _peak_mb()
    end = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = round(end.ru_utime + end.ru_stime - usage.ru_utime - usage.ru_stime, 2)
    out["peak_rss_mb"] = round(peak, 1)
    out["run_rss_mb"] = round(peak - start_rss, 1)
    print("RESULT " + json.dumps(out))


def _spawn(*args: str) -> dict[str, Any]:
    # GDAL's block cache would otherwise grow to 5 % of RAM in every process and hide the tools' own memory.
    env = {**os.environ, "GDAL_CACHEMAX": str(GDAL_CACHE_MB)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf", "--worker", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]}


def measure(size: int, folder: Path) -> list[dict[str, Any]]:
    """Generate (or reuse) the scenes of one size and time the steps."""
    a, b = folder / f"perf_{size}_a.tif", folder / f"perf_{size}_b.tif"
    for path, level in ((a, 0.25), (b, 0.32)):
        if not path.exists():
            print(f"generating {path.name} ({size} x {size} px x 4 bands)", file=sys.stderr)
            generate(path, size, water_level=level, seed=7)
    steps = [
        ("baseline (rasterio + numpy NDWI/NDVI)", ("baseline", str(a))),
        ("baseline, two dates (rasterio + numpy dMNDWI)", ("baseline_pair", str(a), str(b))),
        ("segment water (tool)", ("segment", str(a), str(folder / f"home_s{size}"))),
        ("detect_change flood (tool)", ("change", str(a), str(b), str(folder / f"home_c{size}"))),
        ("baseline, again", ("baseline", str(a))),
        ("baseline, two dates, again", ("baseline_pair", str(a), str(b))),
    ]
    rows = []
    for name, args in steps:
        load = os.getloadavg()[0]
        print(f"{size} px: {name}", file=sys.stderr)
        res = _spawn(*args)
        res.update({"step": name, "size": size, "load_1min": round(load, 2)})
        rows.append(res)

    def mean_of(kind: str, key: str = "wall_s") -> float | None:
        runs = [r[key] for r, (_n, a) in zip(rows, steps, strict=True) if a[0] == kind and key in r]
        return sum(runs) / len(runs) if runs else None

    # detect_change reads two dates: its floor is the two-date baseline; every other step is read against one.
    for res, (_name, step_args) in zip(rows, steps, strict=True):
        if "wall_s" in res:
            kind = "baseline_pair" if step_args[0] in ("change", "baseline_pair") else "baseline"
            base_s, base_cpu = mean_of(kind), mean_of(kind, "cpu_s")
            res["mpx_s"] = res["pixels"] / 1e6 / res["wall_s"]
            res["ratio"] = res["wall_s"] / base_s if base_s else None
            res["cpu_ratio"] = res["cpu_s"] / base_cpu if base_cpu and "cpu_s" in res else None
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=20_000, help="Scene edge in pixels (default 20000).")
    parser.add_argument("--no-scaling", action="store_true", help="Skip the quarter-size run (memory scaling).")
    parser.add_argument("--workdir", type=Path, help="Keep the generated scenes here (reused when present).")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "perf.json", help="JSON output file.")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return
    sizes = [args.size] if args.no_scaling else [max(1000, args.size // 4), args.size]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows = [row for size in sizes for row in measure(size, args.workdir)]
    else:
        with tempfile.TemporaryDirectory(prefix="geovigie-perf-") as tmp:
            rows = [row for size in sizes for row in measure(size, Path(tmp))]
    table = markdown(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"context": _context_info(GDAL_CACHE_MB), "rows": rows, "markdown": table}, indent=1)
    )
    print(f"\nJSON: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
