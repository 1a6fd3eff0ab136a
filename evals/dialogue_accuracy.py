"""Multi-turn planner accuracy: each conversation of a dialogue set runs on one thread of the real agent graph.

The agent is the product's graph (``build_agent``: checkpointed thread, offline planner, finalize) with every tool
replaced by the stub world of :mod:`geovigie.evals.planner_accuracy` (same names, schemas and prompts), so the
planner and its memory of the thread are measured alone. Analysis tools (``detect_change``, ``segment``,
``count_objects``, ``quicklook``) also return one figure and two artifacts (polygons as GeoJSON, a PNG overlay), so
that "show me the polygons" can be checked to return what an earlier turn produced.

A conversation is ``{id, lang, today, known_items?, turns: [{user, expected, world?, note?}]}`` (see
``evals/questions/BLIND5.md``). Each turn is scored on the checks of the single-question scorer (intent, first
call and its arguments as a subset, the call sequence, dates +-1 day on the searches, object, clarify/abstain) plus:

- ``language``: the answer text is in the turn's language (``expected.lang``, else the turn's ``lang`` as BLIND11
  wrote it, else the conversation's);
- ``reuse`` (``polygons|map|report|figures``): no tool ran, the answer is ``answered`` and returns what earlier
  turns produced (polygons: a GeoJSON artifact of an earlier turn; map / report: earlier artifacts; figures:
  earlier figures);
- ``fills``: the previous turn asked a clarifying question and this one is no longer a clarification;
- ``carried``: every slot named is kept (``intent``/``dates``/``object``: their checks pass; ``place``: the turn
  geocodes the same place, or uses at least one of the images, of the latest earlier turn that had one, a turn
  that asked before geocoding counting with the place it understood);
- ``nearest_dates``: the stub catalog holds items only at the ISO dates written in the turn's ``note``; a dated
  search whose window holds none of them finds nothing. The agent must still compare and say which dates it used
  (one of those dates appears in the text, ISO or "21 August 2015" / "21 août 2015"). A search repeated right
  after an empty one counts once in the call sequence.

Intent and object are read from the planner's understanding of the turn (the last one it planned with); a turn on
which the planner understood nothing new (an artifact request) keeps the previous turn's. A conversation is right
when every check of every turn is right.

Usage: ``python -m geovigie.evals.dialogue_accuracy [--questions file.jsonl] [--out report.json]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from geovigie.agent.language import detect_language
from geovigie.agent.offline import ItemFacts, OfflinePlanner, ToolCall, Understanding, fold
from geovigie.agent.runner import build_agent
from geovigie.core import errors
from geovigie.core.domain import ArtifactRef, Figure, Provenance, SceneRef, ToolOutput
from geovigie.core.settings import Settings
from geovigie.evals.catalog_facts import facts_for
from geovigie.evals.dialogue_world import DialogueWorld, StubPayload
from geovigie.evals.planner_accuracy import _dates_ok, _same, load_questions
from geovigie.tools.base import GeoTool, ToolContext

QUESTIONS = Path(__file__).parent / "questions" / "blind5_dialogues.jsonl"
ANALYSES = frozenset({"detect_change", "segment", "count_objects", "quicklook"})
MONTHS = {
    "en": ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"),
    "fr": ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
           "novembre", "decembre"),
}  # fmt: skip


class RecordingPlanner(OfflinePlanner):
    """The offline planner, knowing the conversation's image ids and keeping its latest understanding."""

    extra_items: tuple[str, ...] = ()
    understood: list[Understanding] = []

    def _known_items(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*super()._known_items(), *self.extra_items)))

    def _item_facts(self) -> dict[str, ItemFacts]:
        return {**facts_for(self.extra_items), **super()._item_facts()}

    def _understand(self, *args: Any, **kwargs: Any) -> Understanding:
        u = super()._understand(*args, **kwargs)
        self.understood.append(u)
        return u


def _stub_output(name: str, record: Mapping[str, Any], turn_key: str) -> ToolOutput[Any]:
    """A stub result; analysis tools add one figure, polygons and an overlay (ids unique per turn and tool)."""
    scenes = [SceneRef(item_id=str(i), datetime="2017-06-01T10:00:00Z") for i in _item_ids(record["args"])]
    prov = Provenance(tool=name, method="evaluation stub", scenes=scenes)
    out = ToolOutput[StubPayload](summary=f"{name} (stub): {str(record['result'])[:300]}",
                                  result=StubPayload.model_validate(record["result"]), provenance=prov)  # fmt: skip
    if name in ANALYSES:
        out.figures = [Figure(name="stub_area", value=12.5, unit="ha")]
        out.artifacts = [
            ArtifactRef(id=f"{turn_key}-{name}.geojson", kind="geojson", media_type="application/geo+json",
                        title=f"{name} polygons", path=f"/stub/{turn_key}-{name}.geojson", role="polygons"),
            ArtifactRef(id=f"{turn_key}-{name}.png", kind="png", media_type="image/png", title=f"{name} overlay",
                        path=f"/stub/{turn_key}-{name}.png", role="overlay"),
        ]  # fmt: skip
    return out


def _item_ids(args: Mapping[str, Any]) -> list[str]:
    keys = ("item_id", "before_item_id", "after_item_id")
    return [str(args[k]) for k in keys if args.get(k)] or ["stub-item"]


def stub_tools(world: DialogueWorld, turn_key: Callable[[], str]) -> dict[str, GeoTool[Any]]:
    """The registry with every tool function replaced by the dialogue world's."""
    from geovigie.evals.solver import stub_registry

    registry = stub_registry(world)

    def make(name: str) -> Callable[[Any, ToolContext], ToolOutput[Any]]:
        def run(args: Any, _ctx: ToolContext) -> ToolOutput[Any]:
            record = world.run(ToolCall(tool=name, args=args.model_dump(exclude_none=True, mode="json"), reason=""))
            if not record["ok"]:
                raise getattr(errors, str(record["error_type"]), errors.TerminalError)(str(record["error"]))
            return _stub_output(name, record, turn_key())

        return run

    return {name: dataclasses.replace(tool, func=make(name)) for name, tool in registry.items()}


def _settings(home: Path) -> Settings:
    update = {"home": home, "db_url": "", "artifacts_dir": home / "artifacts", "stac_api_urls": [],
              "geocoder": "offline", "llm_base_url": None}  # fmt: skip
    return Settings().model_copy(update=update)


def run_dialogue(dialogue: Mapping[str, Any], home: Path) -> list[dict[str, Any]]:
    """Ask every turn on one thread; returns per turn the answer, the world's search log and the understanding."""
    world = DialogueWorld({})
    current = {"key": ""}
    settings = _settings(home)
    ctx = ToolContext.from_settings(settings)
    today = date.fromisoformat(dialogue["today"])
    planner = RecordingPlanner(ctx=ctx, today=lambda: today, extra_items=tuple(dialogue.get("known_items", [])))  # type: ignore[call-arg]
    planner.understood = []
    agent = build_agent(settings=settings, ctx=ctx, tools=stub_tools(world, lambda: current["key"]), model=planner,
                        planner_name="offline", checkpointer=InMemorySaver())  # fmt: skip
    records: list[dict[str, Any]] = []
    for index, turn in enumerate(dialogue["turns"]):
        current["key"] = f"{dialogue['id']}-t{index}"
        world.start_turn(turn.get("world", {}), turn.get("note", "") if turn["expected"].get("nearest_dates") else "")
        planner.understood.clear()
        answer = agent.ask(turn["user"], thread_id=f"dialogue-{dialogue['id']}").model_dump(mode="json")
        understood = planner.understood[-1] if planner.understood else None
        records.append({"answer": answer, "searches": list(world.search_log), "understood": understood})
    return records


def _calls(record: Mapping[str, Any]) -> list[ToolCall]:
    """The turn's tool calls, a search repeated right after an empty one counted once."""
    calls: list[ToolCall] = []
    empty = iter(record["searches"])
    previous_empty = False
    for step in record["answer"]["trace"]:
        is_search = step["tool"] == "search_imagery"
        found = next(empty, True) if is_search else True
        if not (is_search and previous_empty):
            calls.append(ToolCall(tool=step["tool"], args=step["args"], reason=""))
        previous_empty = is_search and not found
    return calls


def _mentions_date(text: str, day: date) -> bool:
    folded = fold(text)
    if day.isoformat() in text:
        return True
    return any(re.search(rf"\b0?{day.day}(er)?\s+{m[day.month - 1]}\s+{day.year}\b", folded) for m in MONTHS.values())


def _place_of(calls: Sequence[ToolCall]) -> tuple[str, ...]:
    for call in calls:
        if call.tool == "geocode":
            return ("place", fold(str(call.args.get("query", ""))).strip())
    ids = [str(v) for c in calls for k, v in c.args.items() if k in ("item_id", "before_item_id", "after_item_id")]
    return ("image", *ids) if ids else ()


def _understood_place(u: Understanding | None) -> tuple[str, ...]:
    """The place or images a turn understood without running anything (it asked first)."""
    if u is None:
        return ()
    if u.item_refs:
        return ("image", *u.item_refs)
    return ("place", fold(u.place).strip()) if u.place else ()


def score_turn(turn: Mapping[str, Any], record: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]],
               lang: str) -> dict[str, Any]:  # fmt: skip
    """Every check of one turn (``earlier``: the scored turns before it)."""
    exp, answer = turn["expected"], record["answer"]
    u: Understanding | None = record["understood"]
    if u is None and earlier:
        u = earlier[-1]["understood"]
    calls = _calls(record)
    first = exp.get("first_call")
    first_tool = (not calls) if first is None else bool(calls) and calls[0].tool == first["tool"]
    args = first_tool and (
        first is None or all(_same(v, calls[0].args.get(k)) for k, v in first.get("args", {}).items())
    )
    status = answer["status"]
    checks: dict[str, bool] = {
        "intent": u is not None and u.intent == exp["intent"],
        "first_tool": first_tool,
        "first_args": bool(args),
        "sequence": [c.tool for c in calls] == exp["calls"],
        "dates": _dates_ok(exp.get("dates"), u, calls) if u is not None else exp.get("dates") is None,
        "object": (u.object if u is not None else None) == exp.get("object"),
        "outcome": (status == "clarify") == exp["clarify"] and (status == "abstain") == exp["abstain"],
        "language": detect_language(answer["text"]) == exp.get("lang", turn.get("lang", lang)),
    }  # fmt: skip
    if exp.get("reuse"):
        checks["reuse"] = _reuse_ok(exp["reuse"], answer, earlier)
    if exp.get("fills"):
        checks["fills"] = bool(earlier) and earlier[-1]["status"] == "clarify" and answer["status"] != "clarify"
    if exp.get("carried"):
        checks["carried"] = all(_carried_ok(slot, checks, calls, earlier) for slot in exp["carried"])
    if exp.get("nearest_dates"):
        dates = [date.fromisoformat(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", turn.get("note", ""))]
        checks["nearest_dates"] = answer["status"] == "answered" and any(
            _mentions_date(answer["text"], d) for d in dates
        )
    return {"ok": all(checks.values()), "checks": checks, "status": answer["status"], "understood": u,
            "calls": [{"tool": c.tool, "args": c.args} for c in calls], "text": answer["text"][:600],
            "artifacts": [a["id"] for a in answer["artifacts"]], "figures": [f["name"] for f in answer["figures"]],
            "place": _place_of(calls) or _understood_place(u)}  # fmt: skip


def _reuse_ok(kind: str, answer: Mapping[str, Any], earlier: Sequence[Mapping[str, Any]]) -> bool:
    before = {a for t in earlier for a in t["artifacts"]}
    returned = [a["id"] for a in answer["artifacts"]]
    if answer["trace"] or answer["status"] != "answered":
        return False
    if kind == "figures":
        return bool(answer["figures"]) and {f["name"] for f in answer["figures"]} <= {
            f for t in earlier for f in t["figures"]
        }
    if kind == "polygons":
        return any(a["id"] in before and a["kind"] == "geojson" for a in answer["artifacts"])
    return bool(returned) and set(returned) <= before


def _carried_ok(
    slot: str, checks: Mapping[str, bool], calls: Sequence[ToolCall], earlier: Sequence[Mapping[str, Any]]
) -> bool:
    if slot in ("intent", "dates", "object"):
        return checks[slot]
    previous = next((t["place"] for t in reversed(earlier) if t["place"]), ())
    now = _place_of(calls)
    if previous[:1] == now[:1] == ("image",):
        # One image of the pair the last turn used (or the pair around the one it used) is the same place.
        return bool(set(previous[1:]) & set(now[1:]))
    return bool(previous) and now == previous


def evaluate(dialogues: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Score every conversation; summary rates per check, per turn and per conversation (all / per language)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="geovigie-dialogues-") as tmp:
        for dialogue in dialogues:
            records = run_dialogue(dialogue, Path(tmp) / dialogue["id"])
            turns: list[dict[str, Any]] = []
            for turn, record in zip(dialogue["turns"], records, strict=True):
                turns.append(score_turn(turn, record, turns, dialogue["lang"]))
            rows.append(
                {"id": dialogue["id"], "lang": dialogue["lang"], "ok": all(t["ok"] for t in turns), "turns": turns}
            )
    summary = {name: _summary([r for r in rows if lang in (None, r["lang"])]) for name, lang in
               (("all", None), ("en", "en"), ("fr", "fr"))}  # fmt: skip
    for row in rows:
        for t in row["turns"]:
            t.pop("understood")
    return {"summary": summary, "dialogues": rows}


def _summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    turns = [t for r in rows for t in r["turns"]]
    out: dict[str, Any] = {"conversations": len(rows), "turns": len(turns),
                           "conversation_accuracy": _rate(sum(r["ok"] for r in rows), len(rows)),
                           "turn_accuracy": _rate(sum(t["ok"] for t in turns), len(turns))}  # fmt: skip
    names = dict.fromkeys(k for t in turns for k in t["checks"])
    for name in names:
        scored = [t["checks"][name] for t in turns if name in t["checks"]]
        out[name] = _rate(sum(scored), len(scored))
        out[f"{name}_n"] = len(scored)
    return out


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def markdown(report: Mapping[str, Any]) -> str:
    """The summary as a Markdown table (rows: metrics; columns: all, en, fr)."""
    summary = report["summary"]
    lines = ["| metric | all | en | fr |", "|---|---|---|---|"]
    for metric in summary["all"]:
        if metric.endswith("_n"):
            continue
        cells = [summary[s].get(metric) for s in ("all", "en", "fr")]
        shown = [("-" if c is None else (str(c) if isinstance(c, int) else f"{100 * c:.1f} %")) for c in cells]
        n = summary["all"].get(f"{metric}_n")
        lines.append(f"| {metric}{f' (n={n})' if n is not None else ''} | " + " | ".join(shown) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the dialogues, print the table and the failing turns, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, help="write the full report as JSON")
    args = parser.parse_args(argv)
    report = evaluate(load_questions(args.questions))
    print(markdown(report))
    for row in report["dialogues"]:
        for index, t in enumerate(row["turns"]):
            if not t["ok"]:
                wrong = ", ".join(k for k, v in t["checks"].items() if not v)
                print(f"- {row['id']} turn {index}: {wrong}; calls={[c['tool'] for c in t['calls']]}, {t['status']}")
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
