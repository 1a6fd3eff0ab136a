"""Run suites: load, skip what lacks data, ingest each case's data into an isolated catalog, solve, summarise.

Reproducibility: a case sees exactly the data it references. Its catalog lives in a cache home keyed by the
data root and by the set of paths the case references (``<cache>/<root key>/<data key>/``), so its answer
does not depend on which other suites or cases run beside it, and a re-run re-uses the catalog (ingest is
idempotent: unchanged files are not re-read). Artifacts go to one content-addressed folder of the cache.
The offline planner is deterministic and its "today" is pinned per case; seeds are set per case.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from geovigie.core.errors import ConfigError
from geovigie.core.settings import Settings
from geovigie.evals.loader import LoadedSuite, load_suite, resolve_data_path, resolve_data_root
from geovigie.evals.metrics import summarise, summarise_by_tag
from geovigie.evals.pool import Pool
from geovigie.evals.results import CaseResult, RunReport, SuiteSummary
from geovigie.evals.schema import Case
from geovigie.evals.solver import CaseTask, ModelFactory, RunConfig, run_settings, solve

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunOptions:
    """How to run suites (the CLI's options)."""

    planner: Literal["offline", "llm"] = "offline"
    endpoint: str | None = None
    model: str | None = None
    jobs: int = 1
    data_root: Path | None = None
    """Overrides every suite's data root."""
    cache_dir: Path | None = None
    """Where the isolated catalogs and artifacts live (default: ``<GEOVIGIE_HOME>/eval-cache``)."""
    timeout_s: float = 300.0
    """Hard limit per case (a case's own ``timeout_s`` wins)."""
    tags: list[str] = field(default_factory=list)
    """Run only cases having one of these tags."""
    case_ids: list[str] = field(default_factory=list)
    """Run only these case ids."""
    progress: bool = True
    isolate: bool = True
    """Solve in worker processes (hard timeouts, crash isolation); False runs in this process."""
    model_factory: ModelFactory | None = None


@dataclass
class _Planned:
    suite: LoadedSuite
    data_root: Path
    skip_suite: str | None
    tasks: list[tuple[int, CaseTask]] = field(default_factory=list)
    results: dict[int, CaseResult] = field(default_factory=dict)


def git_commit(root: Path = REPO_ROOT) -> str:
    """Short commit of the working tree, ``+dirty`` when it has changes ('' outside git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return head + ("+dirty" if dirty else "")


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def case_paths(case: Case) -> list[str]:
    """Every data path a case needs: its data, labels, boxes and alignment references."""
    paths = [ref.path for ref in case.data if ref.path]
    for turn in case.turns():
        truth = turn.expect.truth
        if truth is not None:
            paths += [p for p in (truth.label, truth.align.same_grid_as) if p]
            paths += [truth.boxes.path] if truth.boxes else []
    return paths


def missing_data(case: Case, root: Path) -> str | None:
    """Why a case cannot run here (its first absent path), or None."""
    for path in case_paths(case):
        if resolve_data_path(root, path) is None:
            return f"missing data: {path} (data root {root})"
    return None


def _selected(case: Case, options: RunOptions) -> bool:
    if options.case_ids and case.id not in options.case_ids:
        return False
    return not options.tags or bool(set(options.tags) & set(case.tags))


def _skipped(suite: str, case: Case, reason: str) -> CaseResult:
    return CaseResult(suite=suite, case_id=case.id, tags=case.tags, outcome="skipped", reason=reason)


def _prepare(config: RunConfig, case: Case, *, ingest: bool) -> str | None:
    """Create the case's catalog and ingest its data; returns why the case must be skipped, or None.

    Done here, in the parent, before any worker starts: workers then only read the catalog (two processes
    creating one SQLite file at once would race). ``ingest`` is False when the catalog is already done.
    """
    from geovigie.tools.base import ToolContext
    from geovigie.tools.catalog import get_scene, ingest_paths

    ctx = ToolContext.from_settings(run_settings(config, timeout_s=config.timeout_s))
    try:
        for ref in case.data if ingest else []:
            path = resolve_data_path(config.data_root, ref.path) if ref.path and ref.ingest else None
            if path is not None:
                try:
                    ingest_paths([path], ctx.db, pixel_size_m=ref.pixel_size_m)
                except Exception as exc:  # noqa: BLE001 - unreadable data skips the case, never the run
                    return f"missing data: cannot ingest {ref.path}: {exc}"
        for ref in case.data:
            if ref.item:
                try:
                    get_scene(ctx.db, ref.item)
                except Exception:  # noqa: BLE001 - any lookup failure means the item is not available
                    return f"missing data: catalog item {ref.item!r} (not produced by the case's data)"
    finally:
        ctx.db.engine.dispose()
    return None


def _plan(paths: Sequence[Path], options: RunOptions, cache: Path) -> list[_Planned]:
    default_root = Settings().data_dir
    planned: list[_Planned] = []
    ingested: set[Path] = set()
    for path in paths:
        loaded = load_suite(path)
        root = resolve_data_root(loaded, options.data_root, default_root)
        absent = [p for p in loaded.suite.requires if resolve_data_path(root, p) is None]
        skip = f"missing data: {absent[0]} (data root {root})" if absent else None
        item = _Planned(suite=loaded, data_root=root, skip_suite=skip)
        for index, case in enumerate(c for c in loaded.cases if _selected(c, options)):
            reason = skip or missing_data(case, root)
            if reason:
                item.results[index] = _skipped(loaded.suite.name, case, reason)
                continue
            data_key = _key("\n".join(sorted(f"{r.path}|{r.pixel_size_m}" for r in case.data if r.path and r.ingest)))
            config = RunConfig(
                planner=options.planner, endpoint=options.endpoint, model=options.model,
                home=cache / _key(str(root)) / data_key, artifacts_dir=cache / "artifacts", data_root=root,
                timeout_s=options.timeout_s, seed=loaded.suite.seed, model_factory=options.model_factory,
            )  # fmt: skip
            reason = _prepare(config, case, ingest=config.home not in ingested)
            if reason is None or "cannot ingest" not in reason:
                ingested.add(config.home)
            if reason:
                item.results[index] = _skipped(loaded.suite.name, case, reason)
                continue
            item.tasks.append((index, CaseTask(suite=loaded.suite.name, case=case, config=config)))
        planned.append(item)
    return planned


def _timeout_result(task: CaseTask, seconds: float) -> CaseResult:
    return CaseResult(suite=task.suite, case_id=task.case.id, tags=task.case.tags, outcome="timeout",
                      reason=f"timed out after {seconds:g} s", latency_s=seconds)  # fmt: skip


def _crash_result(task: CaseTask, why: str) -> CaseResult:
    return CaseResult(suite=task.suite, case_id=task.case.id, tags=task.case.tags, outcome="error", reason=why)


def _solve_all(
    tasks: list[CaseTask], options: RunOptions, on_result: Callable[[int, CaseResult], None]
) -> list[CaseResult]:
    timeouts = [t.case.timeout_s or t.config.timeout_s for t in tasks]
    if not options.isolate:
        results = []
        for i, task in enumerate(tasks):
            results.append(solve(task))
            on_result(i, results[-1])
        return results
    pool: Pool[CaseTask, CaseResult] = Pool(solve, jobs=options.jobs, on_timeout=_timeout_result,
                                            on_crash=_crash_result)  # fmt: skip
    return pool.map(tasks, timeouts, on_result)


def _progress(total: int, enabled: bool) -> tuple[Callable[[int, CaseResult], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="eval", unit="case", disable=not enabled, dynamic_ncols=True)
    counts: dict[str, int] = {}

    def advance(_index: int, result: CaseResult) -> None:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        bar.set_postfix_str(f"{result.suite}/{result.case_id}"[-40:] + " " + str(counts))
        bar.update(1)

    return advance, bar.close


def run_suites(paths: Sequence[Path], options: RunOptions | None = None) -> RunReport:
    """Run every selected case of the suites and summarise them.

    Args:
        paths: Suite files (YAML/JSON, any location).
        options: Planner, endpoint, jobs, data root, filters, timeouts.

    Raises:
        ConfigError: a suite file is unreadable or invalid, or the LLM planner has no endpoint.
    """
    options = options or RunOptions()
    if options.planner == "llm" and not (options.endpoint or Settings().llm_base_url) and not options.model_factory:
        raise ConfigError(
            "The LLM planner needs an endpoint.", hint="Pass --endpoint URL or set GEOVIGIE_LLM_BASE_URL."
        )
    started = time.perf_counter()
    cache = (options.cache_dir or Settings().home / "eval-cache").resolve()
    planned = _plan(paths, options, cache)
    tasks = [task for item in planned for _, task in item.tasks]
    advance, close = _progress(len(tasks), options.progress)
    try:
        solved = iter(_solve_all(tasks, options, advance))
    finally:
        close()
    suites, cases = [], []
    for item in planned:
        for index, _task in item.tasks:
            item.results[index] = next(solved)
        results = [item.results[i] for i in sorted(item.results)]
        cases.extend(results)
        suites.append(
            SuiteSummary(
                name=item.suite.suite.name, path=str(item.suite.path), data_root=str(item.data_root),
                skipped_reason=item.skip_suite, metrics=summarise(results), by_tag=summarise_by_tag(results),
            )
        )  # fmt: skip
    planner = options.planner if options.model_factory is None else "scripted"
    return RunReport(
        run_id=f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"), commit=git_commit(), planner=planner,
        endpoint=options.endpoint if options.planner == "llm" else None, jobs=options.jobs,
        duration_s=round(time.perf_counter() - started, 1), suites=suites, overall=summarise(cases), cases=cases,
    )  # fmt: skip
