"""The low-severity findings: extreme dates, lone surrogates, the detector-path file oracle, unbounded LLM answers,
server paths in errors, the CLI's unchecked thread ids and key rates, unrecorded files in the artifacts folder."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import HumanMessage
from typer.testing import CliRunner

from geovigie.agent.llm import llm_planner
from geovigie.core.errors import ToolInputError
from geovigie.serving.cli import _register_subcommands, app
from geovigie.tools.count.checkpoint import load_checkpoint
from geovigie.tools.registry import TOOLS


def test_search_dates_in_year_1_and_9999_are_answered(settings, make_service, make_app, scene):
    with TestClient(make_app(make_service())) as client:
        for query in ("start=0001-01-01", "end=9999-12-31", "start=0001-01-01&end=9999-12-31"):
            reply = client.get("/v1/catalog/search?" + query)
            assert reply.status_code == 200, (query, reply.text[:200])


def test_lone_surrogates_do_not_fail_the_turn(make_service, make_app):
    # The UI and the CLI (undecodable argv bytes become lone surrogates) hand such text to the service.
    service = make_service()
    answer = service.ask("Flood near Almorad\udc80 in 2019?", thread_id="sur")
    assert answer.text == "done" and "\ufffd" in answer.question
    raw = b'{"question": "Flood near Almorad\\udc80 in 2019?"}'  # the JSON escape of a lone surrogate
    with TestClient(make_app(service)) as client:
        assert client.get("/v1/threads/sur").json()["messages"][0]["content"] == answer.question
        reply = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})
        assert reply.status_code == 422  # refused as invalid text at the HTTP edge, not a 500


def test_detector_path_does_not_tell_whether_a_server_file_exists(tmp_path):
    existing = tmp_path / "passwd"
    existing.write_text("root:x:0:0")
    messages = set()
    for path in (str(existing), str(tmp_path / "nothing-here")):
        with pytest.raises(ToolInputError) as caught:
            load_checkpoint(path, "ship")
        messages.add(caught.value.user_message)
        assert str(tmp_path) not in caught.value.user_message
    assert len(messages) == 1


class _Verbose(BaseHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        message = {"role": "assistant", "content": "blah " * 100_000}
        body = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_llm_answers_are_capped(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Verbose)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.llm_base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        settings.llm_max_answer_chars = 5_000
        reply = llm_planner(settings, {}).invoke([HumanMessage("hi")])
    finally:
        server.shutdown()
        server.server_close()
    assert isinstance(reply.content, str) and len(reply.content) < 5_200
    assert "answer cut at 5,000 characters" in reply.content


def test_errors_do_not_show_server_folders(ctx, make_geotiff, register, tmp_path):
    path = make_geotiff(np.ones((3, 8, 8), np.uint16), name="gone.tif")
    register(ctx, path, item_id="gone", bands=[("B04", "red"), ("B03", "green"), ("B02", "blue")])
    path.write_bytes(b"not a tiff any more")
    with pytest.raises(ToolInputError) as caught:
        TOOLS["quicklook"].run({"item_id": "gone"}, ctx)
    assert "gone.tif" in caught.value.user_message and str(tmp_path) not in caught.value.user_message


def test_cli_refuses_bad_thread_ids_and_key_rates(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "home"))
    _register_subcommands()
    runner = CliRunner()
    bad_thread = runner.invoke(app, ["ask", "--thread", "../../etc/passwd", "hello"])
    assert bad_thread.exit_code == 2 and "thread" in bad_thread.output.lower()
    for rate in ("0", "-5"):
        result = runner.invoke(app, ["keys", "create", "ops", "--rate", rate])
        assert result.exit_code == 2, result.output


def test_artifacts_route_serves_recorded_artifacts_only(settings, make_service, make_app, scene):
    service = make_service(scene)
    with TestClient(make_app(service)) as client:
        answer = client.post("/v1/ask", json={"question": "show me", "thread_id": "art"}).json()
        recorded = answer["artifacts"][0]["id"]
        assert client.get(f"/v1/artifacts/{recorded}").status_code == 200
        planted = settings.resolved_artifacts_dir / ("0" * 24 + ".html")
        planted.write_text("<script>alert(1)</script>")
        assert client.get(f"/v1/artifacts/{planted.name}").status_code == 404


def test_the_planner_reads_years_before_satellites_instead_of_dropping_them():
    from geovigie.agent.offline.periods import find_atoms, fold

    for text, year in (("Inondation à Paris en 1910 ?", "1910"), ("Flood in Paris in September 1875", "1875")):
        folded = fold(text)
        atoms = find_atoms(folded, date(2025, 6, 15))
        assert [folded[a.start : a.end][-4:] for a in atoms] == [year], text


def test_detector_path_outside_the_models_folder_is_refused_through_the_tool(settings, tmp_path):
    # The tool-level check: a planner-given path is confined to the models folders before anything is opened.
    from geovigie.tools.count.learned import confined_checkpoint

    settings.models_dir = tmp_path / "models"
    (settings.models_dir / "ok.pt").parent.mkdir(parents=True)
    (settings.models_dir / "ok.pt").write_bytes(b"x")
    assert confined_checkpoint("ok.pt", settings) == (settings.models_dir / "ok.pt").resolve()
    secret = tmp_path / "secret.pt"
    secret.write_bytes(b"x")
    messages = set()
    for path in (str(secret), str(tmp_path / "missing.pt"), "../secret.pt", "/etc/passwd.pt"):
        with pytest.raises(ToolInputError) as caught:
            confined_checkpoint(path, settings)
        messages.add(caught.value.user_message)
    assert len(messages) == 1
