"""Replay a bundle: re-run its recorded tool calls on its recorded inputs and compare every figure.

The calls run in a throw-away GeoVigie home whose catalog holds only the bundle's input Items (their files
checked byte for byte first), so neither the reader's own catalog nor remote APIs can change the result. A
figure passes when it is within its stated uncertainty (``±5 %``, ``0.3 ha``...) or, without one, equal up to
float rounding: the tools are deterministic on the same bytes.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pystac

from geovigie.agent.answer import FigureClaim, collect_evidence
from geovigie.agent.state import StepRecord
from geovigie.core.errors import GeoVigieError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.serving.bundle.export import RUN_FILE
from geovigie.serving.bundle.stac import INPUT_ROLE, OUTPUT_ROLE, local_path, sha256_of
from geovigie.tools.base import GeoTool, ToolContext

EXACT_REL = 1e-9
"""Relative tolerance of figures without a stated uncertainty (float formatting only)."""
_UNCERTAINTY = re.compile(r"\s*(?:±|\+/-|\+-)?\s*([0-9]+(?:[.,][0-9]+)?)\s*(\S*)\s*")


@dataclass(frozen=True)
class FigureCheck:
    """One recorded figure against its replayed value."""

    turn: int
    tool: str
    name: str
    unit: str
    old: float
    new: float | None
    tolerance: float
    basis: str
    """``stated uncertainty ...`` or ``exact``."""

    @property
    def diff(self) -> float | None:
        """New minus old (None when the replay produced no such figure)."""
        return None if self.new is None else self.new - self.old

    @property
    def ok(self) -> bool:
        """Within tolerance."""
        return self.diff is not None and abs(self.diff) <= self.tolerance


@dataclass
class ReplayReport:
    """What a replay found."""

    checks: list[FigureCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Inputs missing or changed, outputs tampered, calls that failed: each fails the replay."""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every figure within tolerance and no problem."""
        return not self.problems and all(c.ok for c in self.checks)


def tolerance_of(value: float, uncertainty: str | None, unit: str = "") -> tuple[float, str]:
    """The allowed drift of a figure: its stated uncertainty, else exact (up to float rounding).

    An uncertainty counts when it is one number, bare, in percent (``±5 %``) or in the figure's own unit
    (``0.3 ha`` for a figure in ha). Anything else (a model's measured accuracy, ``F1 0.81 on LEVIR``) says how
    good the method is, not how far a re-run may move, and the figure is checked exactly.
    """
    exact = EXACT_REL * max(1.0, abs(value))
    match = _UNCERTAINTY.fullmatch(uncertainty or "")
    if not match or match.group(2) not in ("", "%", unit):
        return exact, "exact" if not uncertainty else "exact (its uncertainty is not a ± on the value)"
    amount = float(match.group(1).replace(",", "."))
    stated = abs(value) * amount / 100 if match.group(2) == "%" else amount
    return max(stated, exact), f"stated uncertainty {uncertainty.strip() if uncertainty else ''}"


@contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The bundle's folder (a zip is extracted to a temporary one)."""
    if path.is_dir():
        yield path
        return
    if not zipfile.is_zipfile(path):
        raise ToolInputError(f"{path} is neither a bundle folder nor a zip.", hint="Pass what `geovigie export` wrote.")
    with tempfile.TemporaryDirectory(prefix="geovigie-replay-") as tmp:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(tmp)
        yield Path(tmp)


def _resolve_asset(asset: pystac.Asset, data_dir: Path) -> tuple[Path | None, str | None]:
    """The local file holding the recorded bytes: the recorded href, else the same path in this data folder."""
    sha = asset.extra_fields.get("geovigie:sha256")
    candidates = [local_path(asset.href)]
    if asset.extra_fields.get("geovigie:data_relpath"):
        candidates.append(data_dir / str(asset.extra_fields["geovigie:data_relpath"]))
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and (sha is None or sha256_of(candidate) == sha):
            return candidate, None
    found = [str(c) for c in candidates if c is not None and c.is_file()]
    if found:
        return None, f"input {asset.href} differs from the recorded bytes (sha256 mismatch at {', '.join(found)})"
    return None, f"input {asset.href} not found (nor under GEOVIGIE_DATA_DIR={data_dir})"


def _seed_catalog(items: list[pystac.Item], ctx: ToolContext, data_dir: Path, report: ReplayReport) -> None:
    from geovigie.tools.catalog import upsert_item

    for item in items:
        stac = item.to_dict(include_self_link=False, transform_hrefs=False)
        stac["links"] = []
        stac["collection"] = stac["properties"].pop("geovigie:source_collection", None)
        stac["properties"].pop("geovigie:role", None)
        for key, asset in item.assets.items():
            path, problem = _resolve_asset(asset, data_dir)
            if problem:
                report.problems.append(problem)
            elif path is not None:
                stac["assets"][key]["href"] = str(path)
        hrefs = [str(a.get("href", "")) for a in stac["assets"].values()]
        upsert_item(ctx.db, stac, source_path=hrefs[0] if hrefs else "", fingerprint="replay")


def _check_outputs(items: list[pystac.Item], report: ReplayReport) -> set[str]:
    ids = set()
    for item in items:
        asset = item.assets["data"]
        path = Path(asset.get_absolute_href() or asset.href)
        ids.add(path.name)
        if not path.is_file() or sha256_of(path) != asset.extra_fields.get("geovigie:sha256"):
            report.problems.append(f"output {path.name} is missing or was modified after export")
    return ids


def _registry(calls: list[dict[str, Any]]) -> dict[str, GeoTool[Any]]:
    from geovigie.tools.registry import TOOLS

    registry = dict(TOOLS)
    if any(c.get("tool") == "run_playbook" for c in calls):  # the LLM planner's playbook tool
        from geovigie.agent.offline import make_run_playbook

        registry["run_playbook"] = make_run_playbook(dict(TOOLS))
    return registry


def _rerun(turn: dict[str, Any], ctx: ToolContext, report: ReplayReport) -> list[FigureClaim]:
    calls = [c for c in turn["calls"] if c.get("ok")]
    registry = _registry(calls)
    steps: list[StepRecord] = []
    for call in calls:
        tool = registry.get(call["tool"])
        if tool is None:
            report.problems.append(f"turn {turn['turn']}: tool {call['tool']!r} does not exist in this version")
            continue
        try:
            output = tool.run(call["args"], ctx)
        except GeoVigieError as exc:
            report.problems.append(f"turn {turn['turn']}: {call['tool']} failed on replay: {exc.user_message}")
            steps.append(StepRecord(tool=call["tool"], args=call["args"], ok=False, output=None))
            continue
        steps.append(StepRecord(tool=call["tool"], args=call["args"], ok=True, output=output.model_dump(mode="json")))
    return collect_evidence(steps)[0]


def _compare(turn: dict[str, Any], new: list[FigureClaim]) -> list[FigureCheck]:
    pool: dict[tuple[str, str], list[FigureClaim]] = {}
    for fig in new:
        pool.setdefault((fig.tool, fig.name), []).append(fig)
    checks = []
    for raw in turn["figures"]:
        old = FigureClaim.model_validate(raw)
        candidates = pool.get((old.tool, old.name), [])
        match = candidates.pop(0) if candidates else None
        tolerance, basis = tolerance_of(old.value, old.uncertainty, old.unit)
        value = match.value if match is not None and math.isfinite(match.value) else None
        checks.append(FigureCheck(turn["turn"], old.tool, old.name, old.unit, old.value, value, tolerance, basis))
    return checks


def replay_bundle(path: Path, settings: Settings) -> ReplayReport:
    """Replay a bundle folder or zip.

    Args:
        path: What ``geovigie export`` wrote.
        settings: Only ``data_dir`` is used (where inputs are looked for when their recorded path is absent).

    Raises:
        ToolInputError: ``path`` is not a bundle.
    """
    report = ReplayReport()
    with opened(path) as folder:
        run_file = folder / RUN_FILE
        if not run_file.is_file():
            raise ToolInputError(f"No {RUN_FILE} in {path}.", hint="Pass a folder or zip written by `geovigie export`.")
        run = json.loads(run_file.read_text(encoding="utf-8"))
        collection = pystac.Collection.from_file(str(folder / "collection.json"))
        items = list(collection.get_items(recursive=True))
        inputs = [i for i in items if i.properties.get("geovigie:role") == INPUT_ROLE]
        outputs = [i for i in items if i.properties.get("geovigie:role") == OUTPUT_ROLE]
        recorded_outputs = _check_outputs(outputs, report)
        with tempfile.TemporaryDirectory(prefix="geovigie-replay-home-") as home:
            isolated = settings.model_copy(
                update={"home": Path(home), "db_url": "", "artifacts_dir": None, "stac_api_urls": []}
            )
            ctx = ToolContext.from_settings(isolated)
            _seed_catalog(inputs, ctx, settings.data_dir, report)
            for turn in run["turns"]:
                report.checks += _compare(turn, _rerun(turn, ctx, report))
            produced = {p.name for p in isolated.resolved_artifacts_dir.iterdir()}
        same = len(recorded_outputs & produced)
        report.notes.append(f"{same} of {len(recorded_outputs)} output files were reproduced byte for byte")
    return report
