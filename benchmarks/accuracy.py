"""The accuracy table of GeoVigie's tools on the labelled sample data (``python -m benchmarks.accuracy``).

Runs the three benchmark modules against ``Settings().data_dir`` (or the folder given as argument) and prints one
Markdown report (the README reproduces it), and writes the rows as JSON to ``benchmarks/out/accuracy.json``:

* change detection — :mod:`benchmarks.accuracy_change` (OSCD 8 cities, LEVIR-CD, DSIFN-CD, Landsat Taizhou);
* segmentation — :mod:`benchmarks.accuracy_segment` (Sen1Floods11 water IoU, eo-learn Slovenia land cover);
* counting — :mod:`benchmarks.accuracy_count` (NEON trees, DOTA ships and vehicles, SpaceNet buildings);
* learned models beside the classical ones — :mod:`benchmarks.accuracy_models` (TinyCD, YOLOv8n-OBB, AID presence).

What was tuned on what is stated in each module's docstring.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import accuracy_change, accuracy_count, accuracy_models, accuracy_segment
from geovigie.core.settings import Settings


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str]) -> int:
    data_dir = Path(argv[0]) if argv else Settings().data_dir
    if not data_dir.is_dir():
        print(f"sample data not found at {data_dir}: pass the shared/data folder or set GEOVIGIE_DATA_DIR")
        return 2
    report: dict[str, object] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "commit": _commit()}
    sections = []
    for name, module in (("change", accuracy_change), ("segment", accuracy_segment), ("count", accuracy_count)):
        start = time.perf_counter()
        rows = module.run(data_dir)
        report[name] = rows
        sections.append(f"### {name} ({time.perf_counter() - start:.0f} s)\n\n{module.markdown(rows)}")
    start = time.perf_counter()
    count_rows = report.get("count")
    learned = accuracy_models.run(data_dir, count_rows if isinstance(count_rows, list) else None)
    report["learned"] = learned
    took = time.perf_counter() - start
    sections.append(f"### learned vs classical ({took:.0f} s)\n\n{accuracy_models.markdown(learned)}")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "accuracy.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"Accuracy on {data_dir} — {report['date']}, commit {report['commit']}\n")
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
