"""Load benchmark: the real HTTP service (uvicorn subprocess, offline planner) under concurrent sessions.

Usage::

    python -m benchmarks.load                          # 20 sessions x 3 requests on /v1/ask
    python -m benchmarks.load --sessions 5 --requests 2

What it does, in one run (loopback only, every loop bounded):

1. Makes a temporary ``GEOVIGIE_HOME`` and ingests a small subset of the sample data (OSCD Bordeaux and Paris,
   DOTA samples, NEON trees, Sen1Floods11) -- or, when the data folder is absent, two synthetic rasters with
   questions about them.
2. Starts ``geovigie serve --no-ui`` in a subprocess on a free loopback port (the real app: offline planner,
   SQLite database and checkpoints, no remote STAC), and waits for ``/readyz``.
3. Asks each question of the mix twice, one at a time (the first pass warms up lazy imports and models): the
   second pass gives the single-request latency of each (its service time).
4. Runs ``--sessions`` concurrent sessions (``httpx.AsyncClient``); each is one thread (its own ``thread_id``)
   and asks ``--requests`` questions of the fixed mix, in turn, starting at a different question.
5. Reports throughput (requests/s), p50/p95/max latency, errors (HTTP errors, transport errors, answers with
   status ``error``), the server's CPU use (cores busy, from /proc), and checks that every thread holds all its
   turns. Goals: 0 errors, p95 <= 3 x p50. Prints a Markdown table; writes ``benchmarks/out/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.load_probe import health_summary, peak_rss_mb, probe_health, refusals

OUT = Path(__file__).parent / "out" / "load.json"
SAMPLE_SUBSET = ["oscd/bordeaux", "oscd/paris", "dota_samples", "deepforest_neon_trees", "sen1floods11_sample"]
SAMPLE_QUESTIONS = [
    "How many trees are in OSBS_029.tif?",
    "Has Bordeaux grown between 2016 and 2017?",
    "Quelle surface en eau dans Spain_7370579_S2Hand.tif ?",
    "What imagery do you have of Paris?",
]
SYNTHETIC_QUESTIONS = [
    "Quelle surface en eau dans synthetic_lake.tif ?",
    "What is the water area in synthetic_lake.tif?",
    "Show me synthetic_rgb.tif",
    "Quelle surface en eau dans synthetic_rgb.tif ?",
]
REQUEST_TIMEOUT_S = 300.0
"""One request's limit: past it, the request counts as an error (the run always ends)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _synthetic(folder: Path) -> list[Path]:
    """A lake scene (B03 green, B08 nir, B11 swir16, B04 red) and an RGB scene, UTM 31N at 10 m."""
    import rasterio
    from affine import Affine

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    size = 512
    yy, xx = np.mgrid[0:size, 0:size]
    lake = (yy - 256) ** 2 + (xx - 200) ** 2 < 120**2
    land = np.array([900, 1100, 3000, 2200], np.float32)[:, None, None]  # red, green, nir, swir16
    water = np.array([300, 500, 200, 100], np.float32)[:, None, None]
    bands = np.where(lake[None], water, land) + rng.normal(0, 40, (4, size, size))
    paths = []
    for name, data, desc in (
        ("synthetic_lake.tif", bands, ["B04", "B03", "B08", "B11"]),
        ("synthetic_rgb.tif", bands[:3], ["B04", "B03", "B02"]),
    ):
        path = folder / name
        profile = {
            "driver": "GTiff",
            "width": size,
            "height": size,
            "count": len(desc),
            "dtype": "uint16",
            "crs": "EPSG:32631",
            "transform": Affine(10, 0, 500_000, 0, -10, 4_800_000),
            "tiled": True,
        }
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.clip(data, 1, 10_000).astype(np.uint16))
            for i, d in enumerate(desc, start=1):
                dst.set_band_description(i, d)
            dst.update_tags(datetime="2021-07-01T10:00:00Z")
        paths.append(path)
    return paths


def prepare_home(home: Path, data_dir: Path) -> tuple[list[str], dict[str, Any]]:
    """Ingest the sample subset (or synthetic rasters) into ``home``; returns the question mix and a report."""
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext
    from geovigie.tools.catalog import ingest_paths

    settings = Settings(home=home, data_dir=data_dir, stac_api_urls=[], llm_base_url=None, _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    subset = [data_dir / p for p in SAMPLE_SUBSET if (data_dir / p).exists()]
    if len(subset) == len(SAMPLE_SUBSET):
        paths, questions, source = subset, SAMPLE_QUESTIONS, "sample data"
    else:
        paths, questions, source = _synthetic(home / "synthetic"), SYNTHETIC_QUESTIONS, "synthetic rasters"
    started = time.perf_counter()
    report = ingest_paths(paths, ctx.db)
    return questions, {
        "source": source,
        "items": len(report.added) + len(report.unchanged) + len(report.updated),
        "ingest_s": round(time.perf_counter() - started, 2),
    }


def _cpu_seconds(pid: int) -> float:
    # utime + stime of the server process (fields 14 and 15 of /proc/PID/stat, in clock ticks).
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(home: Path, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``geovigie serve --no-ui`` on loopback with the offline planner."""
    env = {
        **os.environ,
        "GEOVIGIE_HOME": str(home),
        "GEOVIGIE_DATA_DIR": str(data_dir),
        "GEOVIGIE_STAC_API_URLS": "",
        "GEOVIGIE_LLM_BASE_URL": "",
        "GEOVIGIE_DB_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [sys.executable, "-m", "geovigie.serving.cli", "serve", "--no-ui", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).parents[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 120.0) -> float:
    """Seconds until ``/readyz`` answers 200 (raises with the server's log when it does not)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2.0).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


async def _ask(client: httpx.AsyncClient, question: str, thread_id: str) -> dict[str, Any]:
    started = time.perf_counter()
    outcome: dict[str, Any] = {"question": question, "thread_id": thread_id}
    try:
        reply = await client.post("/v1/ask", json={"question": question, "thread_id": thread_id})
        outcome["http"] = reply.status_code
        if reply.status_code == 200:
            outcome["status"] = reply.json()["status"]
        else:
            outcome["error"] = reply.text[:300]
            outcome["retry_after"] = reply.headers.get("retry-after")
    except httpx.HTTPError as exc:
        outcome["http"], outcome["error"] = None, f"{type(exc).__name__}: {exc}"
    outcome["latency_s"] = time.perf_counter() - started
    return outcome


async def run_sessions(base: str, questions: list[str], sessions: int, requests: int) -> list[dict[str, Any]]:
    """``sessions`` concurrent conversations of ``requests`` questions each."""
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:

        async def session(index: int) -> list[dict[str, Any]]:
            thread_id = f"load-{index:03d}"
            return [await _ask(client, questions[(index + k) % len(questions)], thread_id) for k in range(requests)]

        results = await asyncio.gather(*(session(i) for i in range(sessions)))
    return [r for per_session in results for r in per_session]


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def is_error(outcome: dict[str, Any]) -> bool:
    """HTTP or transport failure, or an answer whose status is ``error`` (a 429 beyond the queue bound is not)."""
    return outcome.get("http") not in (200, 429) or outcome.get("status") == "error"


def summarize(outcomes: list[dict[str, Any]], wall_s: float) -> dict[str, Any]:
    """Throughput, latency percentiles and error count of the load phase."""
    latencies = [o["latency_s"] for o in outcomes if o.get("http") != 429]
    p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
    by_question: dict[str, list[float]] = {}
    for o in outcomes:
        by_question.setdefault(o["question"], []).append(o["latency_s"])
    statuses: dict[str, int] = {}
    for o in outcomes:
        key = str(o.get("status") or f"http {o.get('http')}")
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "requests": len(outcomes),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(outcomes) / wall_s, 3) if wall_s else 0.0,
        "p50_s": round(p50, 3),
        "p95_s": round(p95, 3),
        "max_s": round(max(latencies, default=float("nan")), 3),
        "p95_over_p50": round(p95 / p50, 2) if p50 else None,
        "errors": sum(is_error(o) for o in outcomes),
        "statuses": statuses,
        "per_question_median_s": {q: round(statistics.median(v), 3) for q, v in by_question.items()},
        "error_samples": [o for o in outcomes if is_error(o)][:5],
        **refusals(outcomes),
    }


def _threads_complete(base: str, sessions: int, answered: dict[str, int]) -> int:
    """Threads whose record holds every turn answered (user + assistant message per admitted request)."""
    whole = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(sessions):
            expected = 2 * answered.get(f"load-{i:03d}", 0)
            reply = client.get(f"/v1/threads/load-{i:03d}")
            held = len(reply.json()["messages"]) if reply.status_code == 200 else 0
            whole += held == expected
    return whole


def markdown(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    load, single = report["load"], report["single"]
    health = report["health"]
    rows = [
        ("bound (slots + queue)", f"{report['bound']}"),
        ("refused with 429 (with Retry-After)", f"{load['refused_429']} ({load['with_retry_after']})"),
        (
            "/healthz under load p50 / p95 / max",
            f"{health.get('p50_ms')} / {health.get('p95_ms')} / "
            f"{health.get('max_ms')} ms ({health.get('probes')} probes)",
        ),
        ("server peak RSS", f"{report['peak_rss_mb']} MiB"),
        ("data", f"{report['data']['source']} ({report['data']['items']} items)"),
        ("sessions x requests", f"{report['sessions']} x {report['requests']} = {load['requests']}"),
        ("server start (to /readyz)", f"{report['startup_s']:.1f} s"),
        ("throughput", f"{load['throughput_rps']:.2f} req/s"),
        ("latency p50 / p95 / max", f"{load['p50_s']:.2f} / {load['p95_s']:.2f} / {load['max_s']:.2f} s"),
        ("p95 / p50 (goal <= 3)", f"{load['p95_over_p50']}"),
        ("errors (goal 0)", str(load["errors"])),
        ("answer statuses", ", ".join(f"{k}: {v}" for k, v in sorted(load["statuses"].items()))),
        ("threads with every turn recorded", f"{report['threads_complete']} / {report['sessions']}"),
        (f"server CPU (cores busy, of {report['cpu_count']})", f"{report['server_cores_busy']:.2f}"),
        ("server CPU per request", f"{report['server_cpu_s_per_request']:.2f} s"),
        ("machine load average (1 min, at start)", f"{report['load_average_at_start']:.2f}"),
    ]
    lines = ["| measure | value |", "| --- | --- |", *[f"| {k} | {v} |" for k, v in rows]]
    lines += ["", "| question | alone (s) | median under load (s) |", "| --- | ---: | ---: |"]
    for q, alone in single.items():
        lines.append(f"| {q} | {alone:.2f} | {load['per_question_median_s'].get(q, float('nan')):.2f} |")
    return "\n".join(lines)


async def _load_with_probes(
    base: str, questions: list[str], sessions: int, requests: int
) -> tuple[list[dict[str, Any]], list[float]]:
    stop = asyncio.Event()
    prober = asyncio.create_task(probe_health(base, stop))
    try:
        outcomes = await run_sessions(base, questions, sessions, requests)
    finally:
        stop.set()
    return outcomes, await prober


def report_health_ok(probes: list[float]) -> bool:
    """The probe goal: p95 of ``/healthz`` under load below 100 ms."""
    return bool(probes) and float(np.percentile(np.array(probes), 95)) < 0.1


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3, help="Requests per session.")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--slots", type=int, default=2, help="GEOVIGIE_MAX_CONCURRENT_TURNS of the server.")
    parser.add_argument("--queue", type=int, default=30, help="GEOVIGIE_MAX_QUEUED_TURNS of the server.")
    args = parser.parse_args(argv)
    os.environ["GEOVIGIE_MAX_CONCURRENT_TURNS"] = str(args.slots)  # read by the server subprocess
    os.environ["GEOVIGIE_MAX_QUEUED_TURNS"] = str(args.queue)
    from geovigie.core.settings import Settings

    data_dir = Settings().data_dir.resolve()
    with tempfile.TemporaryDirectory(prefix="geovigie-load-") as tmp:
        home = Path(tmp) / "home"
        questions, data = prepare_home(home, data_dir)
        port, log = _free_port(), Path(tmp) / "server.log"
        base = f"http://127.0.0.1:{port}"
        proc = start_server(home, data_dir, port, log)
        try:
            startup_s = wait_ready(base, proc, log)
            single: dict[str, float] = {}
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
                for q in questions + questions:  # the first pass warms up lazy imports and models
                    started = time.perf_counter()
                    client.post("/v1/ask", json={"question": q}).raise_for_status()
                    single[q] = time.perf_counter() - started
            load_average = os.getloadavg()[0]
            cpu_before, started = _cpu_seconds(proc.pid), time.perf_counter()
            outcomes, probes = asyncio.run(_load_with_probes(base, questions, args.sessions, args.requests))
            wall = time.perf_counter() - started
            cores_busy = (_cpu_seconds(proc.pid) - cpu_before) / wall
            answered: dict[str, int] = {}
            for o in outcomes:
                answered[o["thread_id"]] = answered.get(o["thread_id"], 0) + (o.get("http") == 200)
            threads_complete = _threads_complete(base, args.sessions, answered)
            peak_rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    load = summarize(outcomes, wall)
    report = {
        "sessions": args.sessions,
        "requests": args.requests,
        "data": data,
        "startup_s": round(startup_s, 2),
        "single": {q: round(v, 3) for q, v in single.items()},
        "load": load,
        "bound": args.slots + args.queue,
        "health": health_summary(probes),
        "peak_rss_mb": peak_rss,
        "threads_complete": threads_complete,
        "server_cores_busy": round(cores_busy, 2),
        # Independent of other processes sharing the machine, unlike throughput and latency.
        "server_cpu_s_per_request": round(cores_busy * wall / max(1, len(outcomes)), 3),
        "load_average_at_start": load_average,
        "cpu_count": os.cpu_count() or 1,
        "goals": {
            "zero_errors": load["errors"] == 0,
            "p95_within_3x_p50": bool(load["p95_over_p50"] is not None and load["p95_over_p50"] <= 3.0),
            "health_p95_under_100ms": bool(report_health_ok(probes)),
            "refusals_only_beyond_the_bound": (load["refused_429"] == 0) == (args.sessions <= args.slots + args.queue),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(markdown(report))
    print(f"\nJSON: {args.out}")
    return 0 if all(report["goals"].values()) and threads_complete == args.sessions else 1


if __name__ == "__main__":
    raise SystemExit(main())
