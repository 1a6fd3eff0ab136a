"""Read suite files (YAML or JSON), their included case files, and resolve their data root.

Any path works: shipped suites (``evals/suites/*.yaml``) and private ones share one schema
(:mod:`geovigie.evals.schema`). ``include`` entries pull cases from JSONL files, either in the suite's own case format
or in the planner question-set format of ``evals/questions/planner.jsonl`` (converted here into tool-call,
date-window and status expectations run against stubbed tools).
"""

from __future__ import annotations

import glob
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from pydantic import ValidationError

from geovigie.core.errors import ConfigError
from geovigie.evals.schema import Case, Include, Suite

PLANNER_DAY_TOLERANCE = 1
"""Days of tolerance on search windows, as in :mod:`geovigie.evals.planner_accuracy`."""


@dataclass(frozen=True)
class LoadedSuite:
    """A validated suite, its file, and its cases with includes and defaults applied."""

    suite: Suite
    path: Path
    cases: list[Case]


def read_document(path: Path) -> Any:
    """Parse a YAML or JSON file.

    Raises:
        ConfigError: the file is missing or not valid YAML/JSON.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"Cannot read suite {path}: {exc.strerror or exc}.", hint="Check the path.") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Suite {path} is not valid YAML/JSON: {exc}.", hint="Fix the syntax.") from exc


def load_suite(path: Path) -> LoadedSuite:
    """Validate a suite file and expand its includes and defaults.

    Raises:
        ConfigError: the file is unreadable, invalid against the schema, or has duplicate case ids.
    """
    raw = read_document(path)
    try:
        suite = Suite.model_validate(raw)
        cases = list(suite.cases)
        for inc in suite.include:
            cases.extend(_included(path.parent, inc))
        cases = [_with_defaults(suite, c) for c in cases]
    except ValidationError as exc:
        raise ConfigError(f"Suite {path} does not match the schema:\n{exc}", hint="See evals/schema.py.") from exc
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"Suite {path} repeats case ids: {', '.join(dupes[:5])}.", hint="Make case ids unique.")
    return LoadedSuite(suite=suite, path=path, cases=cases)


def expand_suite_paths(patterns: list[str]) -> list[Path]:
    """Suite files from paths or globs (a folder means its ``*.yaml`` files), in the order given.

    Raises:
        ConfigError: a pattern matches nothing.
    """
    out: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            hits = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        elif path.exists():
            hits = [path]
        else:
            hits = [Path(p) for p in sorted(glob.glob(pattern))]
        if not hits:
            raise ConfigError(
                f"No suite file matches {pattern!r}.", hint="Give a suite path, e.g. evals/suites/smoke.yaml."
            )
        out.extend(h for h in hits if h not in out)
    return out


def _with_defaults(suite: Suite, case: Case) -> Case:
    d = suite.defaults
    updates: dict[str, Any] = {"tags": list(dict.fromkeys([*d.tags, *case.tags]))}
    if case.today is None and d.today is not None:
        updates["today"] = d.today
    if case.timeout_s is None and d.timeout_s is not None:
        updates["timeout_s"] = d.timeout_s
    return case.model_copy(update=updates)


def _included(base: Path, inc: Include) -> list[Case]:
    path = (base / inc.path).resolve()
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        message = f"Cannot read included cases {path}: {exc.strerror or exc}."
        raise ConfigError(message, hint="Check include.path.") from exc
    rows = [json.loads(line) for line in lines][: inc.limit]
    convert = planner_case if inc.format == "planner_jsonl" else Case.model_validate
    cases = [convert(row) for row in rows]
    return [c.model_copy(update={"tags": list(dict.fromkeys([*inc.tags, *c.tags]))}) for c in cases]


def _date_args(window: Mapping[str, str] | None) -> dict[str, Any]:
    if window is None:
        return {"start": {"absent": True}, "end": {"absent": True}}
    return {k: {"date": window[k][:10], "days": PLANNER_DAY_TOLERANCE} for k in ("start", "end")}


def planner_case(row: Mapping[str, Any]) -> Case:
    """One line of the planner question set as a case: status, call sequence, first call, search windows.

    The intent and object checks of :mod:`geovigie.evals.planner_accuracy` read the planner's internal understanding;
    here only what the trace shows is checked (the object through ``count_objects``' argument). Search windows
    are checked on the search calls the expected sequence contains (the first, or the first two for
    before/after questions).
    """
    exp = row["expected"]
    calls: list[dict[str, Any]] = []
    if exp.get("first_call"):
        calls.append({"tool": exp["first_call"]["tool"], "args": exp["first_call"].get("args", {}), "index": 0})
    searches = exp["calls"].count("search_imagery")
    dates = exp.get("dates")
    if searches and not (calls and calls[0]["tool"] == "search_imagery" and "item_ids" in calls[0]["args"]):
        if dates is None or "start" in dates:
            calls.append({"tool": "search_imagery", "nth": 0, "args": _date_args(dates)})
        elif searches >= 2:
            calls.append({"tool": "search_imagery", "nth": 0, "args": _date_args(dates["before"])})
            calls.append({"tool": "search_imagery", "nth": 1, "args": _date_args(dates["after"])})
    if exp.get("object") and "count_objects" in exp["calls"]:
        calls.append({"tool": "count_objects", "nth": 0, "args": {"object": exp["object"]}})
    status: Any = "clarify" if exp["clarify"] else "abstain" if exp["abstain"] else "answered"
    if not str(row["question"]).strip():
        # The agent refuses an empty question before planning (status error); the set expects the planner's
        # request for a question (clarify): both ask the user for input.
        status = ["clarify", "error"]
    tags = [f"lang:{row['lang']}", f"split:{row.get('split', 'dev')}", f"intent:{exp['intent']}"]
    tags.append("covered" if row.get("covered", True) else "not-covered")
    return Case.model_validate(
        {
            "id": row["id"],
            "question": row["question"],
            "tags": tags,
            "today": row.get("today"),
            "known_items": row.get("known_items", []),
            "stub_tools": row.get("world") or {},
            "expect": {"status": status, "tools": {"calls": calls, "order": "any", "sequence": exp["calls"]}},
        }
    )


def resolve_data_root(loaded: LoadedSuite, override: Path | None, default: Path) -> Path:
    """The data root of a suite: ``--data-root``, else the suite's own ``data_root``, else the settings'."""
    if override is not None:
        return override.expanduser().resolve()
    if loaded.suite.data_root:
        return (loaded.path.parent / loaded.suite.data_root).resolve()
    return default.expanduser().resolve()


def resolve_data_path(root: Path, pattern: str) -> Path | None:
    """A data path under the root; globs must match exactly one file (None when absent or ambiguous)."""
    if any(ch in pattern for ch in "*?["):
        hits = sorted(root.glob(pattern))
        return hits[0] if len(hits) == 1 else None
    path = root / pattern
    return path if path.exists() else None
