"""The perf benchmark's report: Markdown table of the steps and the machine it ran on."""

from __future__ import annotations

import os
import time
from typing import Any

import rasterio


def markdown(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table."""
    lines = [
        "| size (px) | step | wall (s) | CPU (s) | Mpx/s | x baseline | CPU x baseline | peak RSS (MB) "
        "| RSS growth (MB) | load | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "wall_s" not in r:
            note = r.get("skipped") or r.get("error")
            dashes = " - |" * 7
            lines.append(f"| {r['size']} | {r['step']} |{dashes} {r.get('load_1min', '-')} | {note} |")
            continue
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") else "-"
        cpu_ratio = f"{r['cpu_ratio']:.2f}" if r.get("cpu_ratio") else "-"
        extra = ", ".join(f"{k}={r[k]}" for k in ("water_fraction", "tiles", "polygons") if k in r)
        lines.append(
            f"| {r['size']} | {r['step']} | {r['wall_s']:.1f} | {r.get('cpu_s', '-')} | {r['mpx_s']:.1f} | {ratio} "
            f"| {cpu_ratio} "
            f"| {r['peak_rss_mb']:.0f} "
            f"| {r['run_rss_mb']:.0f} | {r['load_1min']} | {extra} |"
        )
    return "\n".join(lines)


def _context_info(gdal_cache_mb: int) -> dict[str, Any]:
    from geovigie.core.settings import Settings
    from geovigie.tools.raster import TILE_WORKERS

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    return {
        "cpu_count": os.cpu_count(),
        "gdal": rasterio.__gdal_version__,
        "gdal_cachemax_mb": gdal_cache_mb,
        "tile_size": settings.tile_size,
        "tile_overlap": settings.tile_overlap,
        "tile_workers": TILE_WORKERS,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
