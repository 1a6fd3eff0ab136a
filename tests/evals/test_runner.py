"""The runner on a suite written elsewhere (tmp dir, synthetic rasters), the worker pool, storage and the CLI."""

import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import typer
from affine import Affine
from typer.testing import CliRunner

from geovigie.core.db.store import Database
from geovigie.core.errors import ConfigError
from geovigie.evals.cli import register
from geovigie.evals.pool import Pool
from geovigie.evals.report import markdown, write_reports
from geovigie.evals.runner import RunOptions, run_suites
from geovigie.evals.store import compare, list_runs, load_run, save_run
from geovigie.evals.testing import pool_probe, scripted_geocode_factory

SUITE = """
name: foreign
data_root: data
defaults: {today: 2024-01-01, timeout_s: 60}
cases:
  - id: synth-change
    question: "What changed between imgs-synth_20200501 and imgs-synth_20210501?"
    data: [imgs/synth_20200501.tif, imgs/synth_20210501.tif, {item: imgs-synth_20200501}]
    tags: [synthetic]
    expect:
      status: answered
      tools:
        calls: [{tool: detect_change, args: {before_item_id: imgs-synth_20200501, after_item_id: {contains: "2021"}}}]
      answer: {figure: "^changed_area$", value: 9, unit: ha, rel_tol: 0.3}
      truth:
        kind: mask
        label: labels/change.tif
        align: {same_grid_as: imgs/synth_20200501.tif}
        positive: [2]
        predicted_positive: [1, 2]
        min_iou: 0.7
  - id: wrong-expectation
    question: "What changed between imgs-synth_20200501 and imgs-synth_20210501?"
    data: [imgs/synth_20200501.tif, imgs/synth_20210501.tif]
    expect:
      tools: {sequence: [geocode]}
  - id: absent-data
    question: "How many trees are in trees.tif?"
    data: [imgs/trees.tif]
    expect: {status: answered}
  - id: absent-item
    question: "What is in imgs-nothing?"
    data: [{item: imgs-nothing}]
    expect: {status: answered}
"""


def make_foreign_suite(root: Path) -> Path:
    """A suite with its own data: two 4-band GeoTIFFs, a 30 x 30 px change, an ungeoreferenced label."""
    (root / "data" / "imgs").mkdir(parents=True)
    (root / "data" / "labels").mkdir()
    rng = np.random.default_rng(0)
    size = 96
    before = np.stack([np.full((size, size), v, np.float32) for v in (0.05, 0.08, 0.06, 0.35)])
    before += rng.normal(0, 0.005, before.shape).astype(np.float32)
    after = before.copy()
    after[:, 30:60, 40:70] = np.array([0.25, 0.28, 0.3, 0.32], np.float32)[:, None, None]
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16", "crs": "EPSG:32631",
               "transform": Affine(10, 0, 500_000, 0, -10, 4_800_000)}  # fmt: skip
    for name, arr in (("synth_20200501.tif", before), ("synth_20210501.tif", after)):
        with rasterio.open(root / "data" / "imgs" / name, "w", **profile) as dst:
            dst.write((arr * 10_000).astype("uint16"))
            dst.descriptions = ("blue", "green", "red", "nir")
    label = np.ones((size, size), np.uint8)
    label[30:60, 40:70] = 2
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):
        with rasterio.open(root / "data" / "labels" / "change.tif", "w", driver="GTiff", width=size, height=size,
                           count=1, dtype="uint8") as dst:  # fmt: skip
            dst.write(label, 1)
    path = root / "suite.yaml"
    path.write_text(SUITE)
    return path


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    root = tmp_path_factory.mktemp("foreign")
    return make_foreign_suite(root), root


@pytest.fixture(scope="module")
def report(foreign):
    suite, root = foreign
    return run_suites([suite], RunOptions(cache_dir=root / "cache", progress=False, jobs=2))


def test_foreign_suite_runs_and_scores(report, foreign):
    by_id = {c.case_id: c for c in report.cases}
    change = by_id["synth-change"]
    assert change.outcome == "passed", change.reason
    truth = change.score("truth:mask")
    assert truth is not None and truth.metrics["iou"] > 0.9 and truth.metrics["coverage"] == 1.0
    assert change.score("answer:^changed_area$").passed
    assert change.turns[0].answer["trace"][0]["tool"] == "detect_change"
    wrong = by_id["wrong-expectation"]
    assert wrong.outcome == "failed" and "sequence ['detect_change'] != expected ['geocode']" in wrong.reason
    assert by_id["absent-data"].outcome == "skipped" and "imgs/trees.tif" in by_id["absent-data"].reason
    assert by_id["absent-item"].outcome == "skipped" and "imgs-nothing" in by_id["absent-item"].reason
    (suite,) = report.suites
    assert suite.data_root == str((foreign[1] / "data").resolve())
    assert suite.metrics["executed"] == 2 and suite.metrics["skipped"] == 2 and suite.metrics["pass_rate"] == 0.5
    assert suite.by_tag["synthetic"]["mask_iou"] > 0.9
    # a case's catalog holds exactly its data (cache keyed by data root, then by the case's paths): the two
    # executed cases share one (same two images), absent-item got an empty one
    homes = [p for p in (foreign[1] / "cache").glob("*/*") if (p / "geovigie.db").exists()]
    assert len(homes) == 2


def test_reports(report, tmp_path):
    json_path, md_path = write_reports(report, tmp_path / "out")
    text = md_path.read_text()
    assert "| foreign | 4 | 2 | 1 | 1 | 0 | 0 | 2 | 50.0 % |" in text
    assert "### foreign / wrong-expectation — failed" in text and "`detect_change`" in text
    assert "missing data: imgs/trees.tif" in text
    assert load_run(None, str(json_path.parent)).cases[0].case_id == report.cases[0].case_id
    assert markdown(report) == text


def test_store_and_compare(report, tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'runs.db'}")
    save_run(db, report)
    worse = report.model_copy(deep=True)
    worse.run_id = report.run_id + "-b"
    worse.cases[0].outcome, worse.cases[0].reason = "failed", "truth:mask: iou 0.1 < 0.7"
    worse.cases[0].scores[-1].value = 0.1
    worse.cases[1].outcome = "passed"
    save_run(db, worse)
    assert [r.id for r in list_runs(db)] == [worse.run_id, report.run_id]
    a, b = load_run(db, report.run_id[:-2] + report.run_id[-2:]), load_run(db, "latest")
    assert b.run_id == worse.run_id and load_run(db, "previous").run_id == report.run_id
    result = compare(a, b)
    (reg,) = result.regressions()
    assert reg.case_id == "synth-change" and "iou 0.1" in reg.reason and "truth:mask" in reg.deltas
    assert [c.case_id for c in result.improvements()] == ["wrong-expectation"]
    assert result.metrics["foreign"]["pass_rate"] == (0.5, 0.5)


def test_parallel_run_matches_serial(report, foreign):
    suite, root = foreign
    serial = run_suites(
        [suite], RunOptions(cache_dir=root / "cache", progress=False, jobs=1, case_ids=["synth-change"])
    )
    (case,) = serial.cases
    parallel = next(c for c in report.cases if c.case_id == "synth-change")
    assert case.outcome == parallel.outcome
    one, two = case.score("truth:mask"), parallel.score("truth:mask")
    assert one is not None and two is not None and one.metrics == two.metrics
    a, b = case.final_answer() or {}, parallel.final_answer() or {}
    assert a["text"] == b["text"] and [s["args"] for s in a["trace"]] == [s["args"] for s in b["trace"]]
    assert [(f["name"], f["value"]) for f in a["figures"]] == [(f["name"], f["value"]) for f in b["figures"]]


def test_suites_without_their_data_are_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.delenv("GEOVIGIE_LLM_BASE_URL", raising=False)
    shipped = Path(__file__).resolve().parents[2] / "evals" / "suites"
    options = RunOptions(cache_dir=tmp_path / "cache", progress=False, data_root=tmp_path / "empty")
    rep = run_suites([shipped / "change.yaml", shipped / "counting.yaml"], options)
    change, counting = rep.suites
    assert change.skipped_reason is not None and change.skipped_reason.startswith("missing data: oscd")
    assert change.metrics["skipped"] == change.metrics["cases"] > 50 and counting.metrics["executed"] == 0
    assert all(c.outcome == "skipped" and c.reason.startswith("missing data:") for c in rep.cases)
    with pytest.raises(ConfigError, match="needs an endpoint"):
        run_suites([shipped / "smoke.yaml"], RunOptions(planner="llm", endpoint=None, progress=False))


# --- the worker pool: timeouts and crashes never stop the run ---------------------------------------------------


def test_pool_survives_timeouts_and_crashes():
    pool = Pool(pool_probe, jobs=2, on_timeout=lambda t, s: f"timeout:{s}", on_crash=lambda t, why: f"crash:{why}")
    tasks = [("ok", 1), ("sleep", 30), ("die", 0), ("ok", 2), ("sleep", 0.1), ("ok", 3)]
    seen = []
    start = time.monotonic()
    out = pool.map(tasks, [5, 0.5, 5, 5, 5, 5], on_result=lambda i, r: seen.append(i))
    assert time.monotonic() - start < 10
    assert out[0] == "ok:1" and out[1] == "timeout:0.5" and out[2].startswith("crash:worker died")
    assert out[3:] == ["ok:2", "sleep:0.1", "ok:3"] and sorted(seen) == list(range(6))


# --- an LLM planner (scripted): tool calls through the graph, tokens counted ------------------------------------


def test_llm_path_counts_tokens_and_model_calls(tmp_path):
    suite = tmp_path / "llm.yaml"
    suite.write_text(
        "name: llm\ncases:\n  - id: where\n    question: Where is Nantes?\n"
        "    expect: {tools: {calls: [{tool: geocode, args: {query: nantes}}]}, text: {must_contain: [France]}}\n"
    )
    options = RunOptions(cache_dir=tmp_path / "cache", progress=False, model_factory=scripted_geocode_factory)
    rep = run_suites([suite], options)
    (case,) = rep.cases
    assert case.outcome == "passed", case.reason
    assert (case.model_calls, case.tokens_in, case.tokens_out) == (2, 200, 20)
    assert rep.planner == "scripted" and rep.overall["tokens_in"] == 200 and rep.overall["tokens_per_case"] == 220


@pytest.mark.llm_server
def test_llm_planner_over_a_real_endpoint(tmp_path, llm_server):
    """``--planner llm --endpoint``: the OpenAI wire protocol end to end (llama.cpp, SmolLM2-135M)."""
    suite = tmp_path / "llm.yaml"
    suite.write_text('name: llm\ncases:\n  - {id: where, question: "Where is Nantes?", expect: {status: answered}}\n')
    options = RunOptions(planner="llm", endpoint=llm_server.base_url, model=llm_server.model, progress=False,
                         cache_dir=tmp_path / "cache", timeout_s=120)  # fmt: skip
    rep = run_suites([suite], options)
    (case,) = rep.cases
    assert case.outcome in ("passed", "failed"), case.reason  # a 135M model may plan badly, but never crash
    assert rep.planner == "llm" and rep.endpoint == llm_server.base_url
    assert case.model_calls >= 1 and case.tokens_in > 100 and case.tokens_out > 0


# --- the CLI ----------------------------------------------------------------------------------------------------


def test_cli_run_list_compare(foreign, tmp_path, monkeypatch):
    suite, root = foreign
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """GeoVigie."""

    register(app)
    cli = CliRunner()
    args = [
        "eval",
        "run",
        str(suite),
        "--case",
        "wrong-expectation",
        "--no-progress",
        "--cache-dir",
        str(root / "cache"),
    ]
    first = cli.invoke(app, [*args, "--out", str(tmp_path / "out")])
    assert first.exit_code == 0, first.output
    assert "foreign" in first.output and (tmp_path / "out" / "report.md").exists()
    assert cli.invoke(app, [*args, "--fail-under", "0.5"]).exit_code == 1
    listed = cli.invoke(app, ["eval", "list"])
    assert listed.exit_code == 0 and listed.output.count("foreign") == 2
    compared = cli.invoke(app, ["eval", "compare", "previous", "latest", "--fail-on-regression"])
    assert compared.exit_code == 0 and "0 regression(s)" in compared.output
    bad = cli.invoke(app, ["eval", "run", str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 2 and "No suite file matches" in bad.output
