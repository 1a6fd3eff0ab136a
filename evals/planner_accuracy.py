"""Offline planner accuracy on the hand-written question set ``evals/questions/planner.jsonl``.

Each question is read with :func:`geovigie.agent.offline.understanding.understand` and planned with
:func:`geovigie.agent.offline.playbooks.next_step` against a stub world (fake tool results: geocode returns a box
around any
name, search returns two scenes inside the asked period, fine enough for the object asked). Geocoding keeps the
product's ambiguity verdict: a name the offline gazetteer finds ambiguous
(:func:`geovigie.tools.places.geocode.resolve_place`,
e.g. "Mérida", "León", "Valencia" without a country) fails with ``AmbiguousPlaceError`` as the geocode tool does;
a name the gazetteer lacks (lakes, small towns) is still found, as an online geocoder would. A question's
``world`` field changes the stub for that case: ``{"geocode": "unknown"|"ambiguous"}``,
``{"search": ["empty"|"cloudy"|"coarse"|"ok", ...]}`` (one entry per search call) and
``{"tool_error": {"count_objects": "fixable"|"coarse"}}``.

Questions marked ``"split": "holdout"``/``"holdout2"`` were written after the rules were frozen (the first batch
was then used to fix the rules, then the second); the others ("dev") were used to tune them. Scored blind, before
any fix, the whole-case accuracy on covered questions was 72.5 % (holdout, 69 questions) and 84.5 % (holdout2,
58): expect roughly that on new phrasings, not the near-100 % seen on questions the rules were fixed on. A third
batch (``planner_holdout3.jsonl``, run with ``--questions``) written without seeing the planner scored 73.7 % blind;
general fixes (id-like image names, flood/forest/cloud/industrial vocabulary, water-body names) brought it to
94.7 %, so it is no longer blind either.

Reported (overall, on covered questions, per language, per split): intent, first call (tool; argument subset),
full call sequence, dates (+-1 day, checked on the search calls made), object class, clarify / abstain precision
and recall, and whole-case accuracy (every check right).

Usage: ``python -m geovigie.evals.planner_accuracy [--out report.json] [--questions file.jsonl]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from geovigie.agent.offline import Abstain, Clarify, Decision, ToolCall, Understanding, fold, next_step, understand
from geovigie.core.errors import ToolInputError
from geovigie.evals.catalog_facts import facts_for
from geovigie.tools.places import resolve_place

QUESTIONS = Path(__file__).parent / "questions" / "planner.jsonl"
MAX_STEPS = 15
DAY_TOLERANCE = 1


def load_questions(path: Path = QUESTIONS) -> list[dict[str, Any]]:
    """The question set, one dict per JSONL line."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class StubWorld:
    """Deterministic fake tools for one question."""

    world: Mapping[str, Any]
    searches: int = 0
    failed: set[str] = field(default_factory=set)

    def run(self, call: ToolCall) -> dict[str, Any]:
        """Execute a call; returns a step record (``tool``, ``args``, ``ok``, ``result``/``error``)."""
        record: dict[str, Any] = {"tool": call.tool, "args": call.args, "ok": True}
        error = self._error(call)
        if error:
            record.update(ok=False, error=error[1], error_type=error[0])
            return record
        handler = getattr(self, f"_{call.tool}", None)
        record["result"] = handler(call.args) if handler else {"summary": f"{call.tool} done"}
        return record

    def _error(self, call: ToolCall) -> tuple[str, str] | None:
        if call.tool == "geocode" and self.world.get("geocode") == "unknown":
            return "NoDataError", f"No place named {call.args.get('query')!r} in the gazetteer."
        if call.tool == "geocode" and not self.world.get("geocode") and (options := _ambiguity(call.args)):
            return "AmbiguousPlaceError", f"'{call.args.get('query')}' is ambiguous: {options}."
        mode = self.world.get("tool_error", {}).get(call.tool)
        if mode == "coarse":
            return "ResolutionTooCoarseError", "The image is 10 m per pixel; this object needs 1 m or finer."
        if mode == "fixable" and call.tool not in self.failed:
            self.failed.add(call.tool)
            return "ToolInputError", "The area of interest is too large (120 km2 exceeds 25 km2); give a smaller bbox."
        return None

    def _geocode(self, args: Mapping[str, Any]) -> dict[str, Any]:
        digest = int(hashlib.sha256(fold(str(args["query"])).encode()).hexdigest()[:8], 16)
        lat, lon = -40 + (digest % 8000) / 100, -120 + (digest // 8000 % 24000) / 100
        result: dict[str, Any] = {
            "name": args["query"], "country_code": args.get("country") or "ES", "kind": "city", "lat": lat, "lon": lon,
            "bbox": [lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1], "ambiguous": False, "alternatives": [],
        }  # fmt: skip
        if self.world.get("geocode") == "ambiguous":
            result.update(
                ambiguous=True,
                alternatives=[
                    {"name": args["query"], "country_code": "ES"},
                    {"name": args["query"], "country_code": "VE"},
                ],
            )
        return result

    def _search_imagery(self, args: Mapping[str, Any]) -> dict[str, Any]:
        modes = self.world.get("search", [])
        mode = modes[self.searches] if self.searches < len(modes) else "ok"
        self.searches += 1
        if args.get("item_ids"):
            return {"items": [{"item_id": i, "datetime": "2017-06-01T10:00:00Z", "gsd_m": 10.0, "cloud_cover": 3.0,
                               "coverage_pct": 100.0} for i in args["item_ids"]]}  # fmt: skip
        if mode == "empty":
            return {"items": []}
        start = date.fromisoformat(args["start"]) if args.get("start") else date(2019, 5, 4)
        end = date.fromisoformat(args["end"]) if args.get("end") else date(2021, 7, 10)
        span = (end - start).days
        days = [start + timedelta(days=span // 3), start + timedelta(days=2 * span // 3)] if args.get("start") else [
            start, end]  # fmt: skip
        # fine enough for every count unless the case says the catalog only has coarse imagery
        gsd = 10.0 if mode == "coarse" else float(args.get("max_gsd") or 1.0) / 2
        cloud = 85.0 if mode == "cloudy" else 5.0
        # same field names as search_imagery's FoundItem
        return {"items": [
            {"item_id": f"stub-{self.searches}-{n}-{d.isoformat()}", "datetime": f"{d.isoformat()}T10:30:00Z",
             "collection": (args.get("collections") or ["sentinel-2-l2a"])[0], "gsd_m": gsd, "cloud_cover": cloud,
             "coverage_pct": 100.0, "bands": ["B02", "B03", "B04", "B08"]}
            for n, d in enumerate(days)
        ]}  # fmt: skip


def _ambiguity(args: Mapping[str, Any]) -> str | None:
    """The places the geocode tool would offer for an ambiguous name ("Mérida (MX), Mérida (VE)"), else None."""
    try:
        found = resolve_place(str(args.get("query", "")), args.get("country"))
    except ToolInputError:  # unknown to the offline gazetteer: the stub world still knows it
        return None
    if not found.ambiguous:
        return None
    places = [(found.name, found.country_code or ""), *((a.name, a.country_code) for a in found.alternatives)]
    return ", ".join(f"{name} ({code})" for name, code in places)


def plan_case(case: Mapping[str, Any]) -> tuple[Understanding, list[ToolCall], Decision]:
    """Understand and plan one question against its stub world."""
    known = case.get("known_items", [])
    u = understand(case["question"], today=date.fromisoformat(case["today"]), known_items=known,
                   item_facts=facts_for(known))  # fmt: skip
    world = StubWorld(case.get("world", {}))
    history: list[dict[str, Any]] = []
    calls: list[ToolCall] = []
    decision = next_step(u, history)
    while isinstance(decision, ToolCall) and len(calls) < MAX_STEPS:
        calls.append(decision)
        history.append(world.run(decision))
        decision = next_step(u, history)
    return u, calls, decision


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str):
        return isinstance(actual, str) and fold(expected).strip() == fold(actual).strip()
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return isinstance(actual, int | float) and abs(float(expected) - float(actual)) < 1e-6
    if isinstance(expected, list):
        return isinstance(actual, list | tuple) and len(expected) == len(actual) and all(
            _same(e, a) for e, a in zip(expected, actual, strict=True))  # fmt: skip
    return bool(expected == actual)


def _near(expected: Mapping[str, str], start: str | None, end: str | None) -> bool:
    if not start or not end:
        return False
    pairs = ((expected["start"], start), (expected["end"], end))
    return all(abs((date.fromisoformat(e[:10]) - date.fromisoformat(a[:10])).days) <= DAY_TOLERANCE for e, a in pairs)


def _dates_ok(expected: Mapping[str, Any] | None, u: Understanding, calls: Sequence[ToolCall]) -> bool:
    searches = [c.args for c in calls if c.tool == "search_imagery" and not c.args.get("item_ids")]
    if expected is None:
        return all("start" not in s and "end" not in s for s in searches)
    if "start" in expected:
        if searches:
            return _near(expected, searches[0].get("start"), searches[0].get("end"))
        p = u.dates.period
        return p is not None and _near(expected, *p.iso())
    if len(searches) >= 2:
        return _near(expected["before"], searches[0].get("start"), searches[0].get("end")) and _near(
            expected["after"], searches[1].get("start"), searches[1].get("end"))  # fmt: skip
    b, a = u.dates.before, u.dates.after
    return (
        b is not None and a is not None and _near(expected["before"], *b.iso()) and _near(expected["after"], *a.iso())
    )


def score_case(case: Mapping[str, Any]) -> dict[str, Any]:
    """Every check for one question."""
    exp = case["expected"]
    u, calls, final = plan_case(case)
    first = exp.get("first_call")
    first_tool_ok = (not calls) if first is None else bool(calls) and calls[0].tool == first["tool"]
    args_ok = first_tool_ok and (
        first is None or all(_same(v, calls[0].args.get(k)) for k, v in first.get("args", {}).items()))  # fmt: skip
    checks = {
        "intent": u.intent == exp["intent"],
        "first_tool": first_tool_ok,
        "first_args": args_ok,
        "sequence": [c.tool for c in calls] == exp["calls"],
        "dates": _dates_ok(exp.get("dates"), u, calls),
        "object": u.object == exp.get("object"),
        "outcome": isinstance(final, Clarify) == exp["clarify"] and isinstance(final, Abstain) == exp["abstain"],
    }
    return {
        "id": case["id"], "lang": case["lang"], "covered": case["covered"], "ok": all(checks.values()),
        "split": case.get("split", "dev"),
        "checks": checks, "language_ok": u.language == case["lang"] if case["question"].strip() else None,
        "calls": [{"tool": c.tool, "args": c.args} for c in calls], "final": type(final).__name__,
        "final_detail": asdict(final), "expected": exp, "clarify": isinstance(final, Clarify),
        "abstain": isinstance(final, Abstain),
    }  # fmt: skip


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _precision_recall(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[float | None, float | None]:
    predicted = [r for r in rows if r[key]]
    actual = [r for r in rows if r["expected"][key]]
    hits = sum(1 for r in predicted if r["expected"][key])
    return _rate(hits, len(predicted)), _rate(hits, len(actual))


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Rates over a set of scored questions."""
    out: dict[str, Any] = {"n": len(rows), "case_accuracy": _rate(sum(r["ok"] for r in rows), len(rows))}
    for check in ("intent", "first_tool", "first_args", "sequence", "dates", "object", "outcome"):
        out[check] = _rate(sum(r["checks"][check] for r in rows), len(rows))
    langs = [r["language_ok"] for r in rows if r["language_ok"] is not None]
    out["language"] = _rate(sum(langs), len(langs))
    out["clarify_precision"], out["clarify_recall"] = _precision_recall(rows, "clarify")
    out["abstain_precision"], out["abstain_recall"] = _precision_recall(rows, "abstain")
    return out


def evaluate(cases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Score every question and summarise by slice (all / covered, each language)."""
    rows = [score_case(c) for c in cases]
    slices: dict[str, list[dict[str, Any]]] = {"all": rows, "covered": [r for r in rows if r["covered"]]}
    for lang in ("en", "fr"):
        slices[f"covered_{lang}"] = [r for r in rows if r["covered"] and r["lang"] == lang]
        slices[f"all_{lang}"] = [r for r in rows if r["lang"] == lang]
    for split in ("dev", "holdout", "holdout2"):
        slices[f"covered_{split}"] = [r for r in rows if r["covered"] and r["split"] == split]
    return {"summary": {name: summarise(part) for name, part in slices.items()}, "cases": rows}


def markdown(report: Mapping[str, Any]) -> str:
    """The summary as a Markdown table (one column per slice)."""
    summary = report["summary"]
    names = list(summary)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for metric in summary["all"]:
        cells = []
        for name in names:
            value = summary[name][metric]
            cells.append("-" if value is None else (str(value) if metric == "n" else f"{100 * value:.1f} %"))
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation, print the table and the failing cases, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the full report (summary + per-case) as JSON")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args(argv)
    report = evaluate(load_questions(args.questions))
    print(markdown(report))
    failures = [r for r in report["cases"] if not r["ok"]]
    if failures:
        print(f"\n{len(failures)} question(s) with at least one wrong check:")
        for r in failures:
            wrong = ", ".join(k for k, v in r["checks"].items() if not v)
            covered = "covered" if r["covered"] else "not covered"
            print(f"- {r['id']} ({covered}): {wrong}; calls={[c['tool'] for c in r['calls']]}, final={r['final']}")
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
