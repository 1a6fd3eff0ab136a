"""Model inference performance on large generated scenes: time per Mpx and peak memory, at two scene sizes.

Usage::

    python -m benchmarks.perf_models              # 2 048 and 4 096 px (0.3 m RGB), YOLO count + TinyCD change
    python -m benchmarks.perf_models --size 1024  # quick run (512 and 1 024 px)

Each measurement runs the real tool path (catalog item -> ``count_objects`` vehicle with the YOLOv8n-OBB model;
``detect_change`` urban with TinyCD between two dates) in its own subprocess, and reports the wall time, the
seconds per Mpx and the peak RSS growth (``VmHWM`` minus the RSS once the scenes are ingested; the models'
runtime is loaded inside the measurement, the TinyCD ONNX conversion is done once before). The scene is 4x
larger at the second size: peak memory should stay nearly flat (tile-bounded) while the time grows with the
pixels. Needs the weights under ``GEOVIGIE_MODELS_DIR``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

PIXEL_M = 0.3


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def generate(path: Path, side: int, seed: int, cars: int) -> None:
    """A tiled uint8 RGB GeoTIFF at 0.3 m (UTM 31N): grey asphalt texture with car-sized bright rectangles."""
    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "width": side, "height": side, "count": 3, "dtype": "uint8", "tiled": True,
               "blockxsize": 512, "blockysize": 512, "crs": "EPSG:32631",
               "transform": Affine(PIXEL_M, 0, 500_000, 0, -PIXEL_M, 5_000_000)}  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, side, 512):
            for c in range(0, side, 512):
                h, w = min(512, side - r), min(512, side - c)
                block = rng.integers(70, 110, size=(3, h, w), dtype=np.uint8)
                for _ in range(cars * h * w // (512 * 512)):
                    y, x = rng.integers(0, max(1, h - 16)), rng.integers(0, max(1, w - 8))
                    block[:, y : y + 15, x : x + 6] = rng.integers(150, 250, size=(3, 1, 1))
                dst.write(block, window=rasterio.windows.Window(c, r, w, h))
    for k, name in enumerate(("red", "green", "blue"), start=1):
        with rasterio.open(path, "r+") as dst:
            dst.set_band_description(k, name)


def child(kind: str, paths: list[str], home: str) -> dict[str, Any]:
    """Run one tool in this process and measure it."""
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext
    from geovigie.tools.catalog import ingest_paths
    from geovigie.tools.change import detect_change
    from geovigie.tools.count import count_objects

    settings = Settings(  # type: ignore[call-arg]
        home=Path(home),
        models_cache_dir=Path(home).parent / "models-cache",
        stac_api_urls=[],
        llm_base_url=None,
        _env_file=None,
    )
    ctx = ToolContext.from_settings(settings)
    report = ingest_paths([Path(p) for p in paths], ctx.db)
    ids = sorted(report.added + report.updated + report.unchanged)
    rss0 = _status_kb("VmRSS")
    start = time.perf_counter()
    if kind == "count":
        out = count_objects.run({"item_id": ids[0], "object": "vehicle"}, ctx)
        method, value = out.result.method, out.result.count
    else:
        out = detect_change.run({"before_item_id": ids[0], "after_item_id": ids[1], "preset": "urban"}, ctx)
        method, value = out.provenance.method, out.result.changed_pct_of_valid
    elapsed = time.perf_counter() - start
    return {"seconds": round(elapsed, 1), "method": method, "value": value,
            "peak_growth_mb": round((_status_kb("VmHWM") - rss0) / 1024, 1)}  # fmt: skip


def measure(kind: str, paths: list[Path], home: Path) -> dict[str, Any]:
    """One subprocess measurement."""
    cmd = [sys.executable, "-m", "benchmarks.perf_models", "--child", kind, str(home), *map(str, paths)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args(argv)
    if args.child:
        kind, home, *paths = args.child
        print(json.dumps(child(kind, paths, home)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The TinyCD conversion to ONNX (torch) happens once, outside the measurements.
        from geovigie.core.settings import Settings
        from geovigie.tools.models import TINYCD_LEVIR, export_onnx

        export_onnx(TINYCD_LEVIR, Settings(models_cache_dir=Path(tmp) / "models-cache", _env_file=None))  # type: ignore[call-arg]
        for side in (args.size // 2, args.size):
            a, b = Path(tmp) / f"a{side}.tif", Path(tmp) / f"b{side}.tif"
            generate(a, side, 1, 40)
            generate(b, side, 2, 40)
            for kind, paths in (("count", [a]), ("change", [a, b])):
                row = measure(kind, paths, Path(tmp) / f"home-{kind}-{side}")
                mpx = side * side / 1e6
                rows.append({"step": kind, "scene_px": f"{side}x{side}", "mpx": round(mpx, 1), **row,
                             "s_per_mpx": round(row["seconds"] / mpx, 2)})  # fmt: skip
    keys = ["step", "scene_px", "mpx", "method", "seconds", "s_per_mpx", "peak_growth_mb"]
    print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r[k]) for k in keys) + " |")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "perf_models.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
