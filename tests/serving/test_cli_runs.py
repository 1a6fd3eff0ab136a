"""``geovigie runs``: lists runs (interrupted ones reported as such) and cancels a running one."""

from __future__ import annotations

import socket

from typer.testing import CliRunner

from geovigie.core.db import Database, TiledRun
from geovigie.core.settings import Settings
from geovigie.serving.cli import _register_subcommands, app

runner = CliRunner()


def test_runs_list_reports_interrupted_runs_and_cancel_flags_a_running_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    _register_subcommands()
    db = Database(Settings(_env_file=None).resolved_db_url)  # type: ignore[call-arg]
    gone = f"{socket.gethostname()}:{2**22 + 4321}"  # a process of this host that no longer exists
    elsewhere = "another-host:1"  # cannot be checked from here: left running
    with db.session() as s:
        s.add(TiledRun(id="dead", tool="segment", title="segment water A", state="running", total_tiles=4,
                       done_tiles=1, work_dir="/tmp/a", owner=gone))  # fmt: skip
        s.add(TiledRun(id="live", tool="segment", title="segment water B", state="running", total_tiles=4,
                       done_tiles=3, work_dir="/tmp/b", owner=elsewhere))  # fmt: skip
    listed = runner.invoke(app, ["runs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "dead  interrupted 1/4 tiles (25%)" in listed.output and "live  running     3/4" in listed.output
    assert runner.invoke(app, ["runs", "cancel", "live"]).exit_code == 0
    assert runner.invoke(app, ["runs", "cancel", "dead"]).exit_code == 2  # not running any more
    with db.session() as s:
        live, dead = s.get(TiledRun, "live"), s.get(TiledRun, "dead")
        assert live is not None and dead is not None
        assert live.cancel_requested and not dead.cancel_requested
