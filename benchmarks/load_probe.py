"""Probes run beside the load benchmark: ``/healthz`` latency while the turns run, and the server's peak memory."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

PROBE_INTERVAL_S = 0.25


async def probe_health(base: str, stop: asyncio.Event) -> list[float]:
    """``/healthz`` round trips (seconds) every :data:`PROBE_INTERVAL_S` until ``stop`` is set (own connection)."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                reply = await client.get("/healthz")
                if reply.status_code == 200:
                    latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                latencies.append(float("inf"))
            try:
                await asyncio.wait_for(stop.wait(), PROBE_INTERVAL_S)
            except TimeoutError:
                pass
    return latencies


def health_summary(latencies: list[float]) -> dict[str, Any]:
    """p50 / p95 / max of the probes, in milliseconds (a failed probe counts as infinite)."""
    if not latencies:
        return {"probes": 0}
    values = np.array(latencies) * 1000
    return {
        "probes": len(latencies),
        "p50_ms": round(float(np.percentile(values, 50)), 1),
        "p95_ms": round(float(np.percentile(values, 95)), 1),
        "max_ms": round(float(values.max()), 1),
    }


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def refusals(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests refused with 429 (beyond the queue bound), and whether each said when to retry."""
    refused = [o for o in outcomes if o.get("http") == 429]
    return {"refused_429": len(refused), "with_retry_after": sum(bool(o.get("retry_after")) for o in refused)}
