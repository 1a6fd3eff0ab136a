"""CI smoke: the shipped smoke suite runs through the real runner (worker process, offline planner) in seconds."""

import time
from pathlib import Path

from geovigie.core.settings import Settings
from geovigie.evals.runner import RunOptions, run_suites

SMOKE = Path(__file__).resolve().parents[2] / "evals" / "suites" / "smoke.yaml"


def test_smoke_suite(tmp_path):
    start = time.monotonic()
    report = run_suites([SMOKE], RunOptions(cache_dir=tmp_path / "cache", progress=False, timeout_s=60))
    elapsed = time.monotonic() - start
    assert elapsed < 60
    by_id = {c.case_id: c for c in report.cases}
    assert len(by_id) == 7
    for case_id in ("clarify-vague", "abstain-cars-sentinel2", "planner-flood-orihuela", "planner-fr-eau-nantes",
                    "conversation-followup-city", "conversation-homonym-reply"):  # fmt: skip
        assert by_id[case_id].outcome == "passed", f"{case_id}: {by_id[case_id].reason}"
    conversation = by_id["conversation-followup-city"]
    second = conversation.turns[1].answer
    assert len(conversation.turns) == 2 and second is not None and second["trace"][0]["args"] == {"query": "Nantes"}
    trees = by_id["trees-osbs029"]
    if not (Settings().data_dir / "deepforest_neon_trees").is_dir():
        assert trees.outcome == "skipped" and "missing data" in trees.reason
    else:
        assert trees.outcome == "passed", trees.reason
        truth = trees.score("truth:count")
        assert truth is not None and truth.metrics["count_truth"] == 61
        predicted, f1 = truth.metrics["count_predicted"], truth.metrics["det_f1"]
        assert predicted is not None and 0 < predicted < 200 and f1 is not None and f1 > 0.3
    metrics = report.suites[0].metrics
    assert metrics["error"] == 0 and metrics["timeout"] == 0
    assert metrics["tool_accuracy"] == 1.0 and metrics["abstention_recall"] == 1.0
