import importlib.util
import json
import socket
import sys

import pytest

from geovigie.core.errors import ConfigError, UpstreamError
from geovigie.serving.model.profiles import PROFILES
from geovigie.serving.model.vllm_server import (
    LaunchOptions,
    VllmServer,
    build_command,
    ensure_vllm_installed,
    get_profile,
    redacted,
)


def test_default_profile_command_has_tool_calling_and_image_limits(tmp_path):
    cmd = build_command(get_profile(None), LaunchOptions(allowed_local_media_path=tmp_path, port=8123))
    assert cmd[:3] == ["vllm", "serve", "Qwen/Qwen2.5-VL-7B-Instruct"]
    i = cmd.index("--tool-call-parser")
    assert cmd[i + 1] == "hermes" and "--enable-auto-tool-choice" in cmd
    assert json.loads(cmd[cmd.index("--limit-mm-per-prompt") + 1]) == {"image": 4}
    assert cmd[cmd.index("--allowed-local-media-path") + 1] == str(tmp_path.resolve())
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert "--trust-remote-code" not in cmd


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_builds(name):
    cmd = build_command(get_profile(name), LaunchOptions())
    assert "--served-model-name" in cmd and "--max-model-len" in cmd


def test_internvl_profile_trusts_remote_code():
    assert "--trust-remote-code" in build_command(get_profile("internvl3-8b"), LaunchOptions())


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (LaunchOptions(host="0.0.0.0"), "without an API key"),
        (LaunchOptions(tensor_parallel_size=3), "power of two"),
        (LaunchOptions(gpu_memory_utilization=0.05), "out of range"),
        (LaunchOptions(max_model_len=1024), "too small"),
        (LaunchOptions(allowed_local_media_path="/nonexistent/dir"), "not a folder"),
    ],
)
def test_invalid_combinations_are_refused_before_launch(options, match):
    with pytest.raises(ConfigError, match=match):
        build_command(get_profile(None), options)


def test_auto_tool_choice_requires_a_parser():
    profile = get_profile(None).model_copy(update={"tool_call_parser": None})
    with pytest.raises(ConfigError, match="requires --tool-call-parser"):
        build_command(profile, LaunchOptions())


def test_unknown_profile_and_api_key_redaction():
    with pytest.raises(ConfigError, match="Unknown vLLM profile"):
        get_profile("gpt-17")
    cmd = build_command(get_profile(None), LaunchOptions(host="0.0.0.0", api_key="s3cret"))
    assert "s3cret" not in redacted(cmd) and "--api-key '***'" in redacted(cmd)


def test_missing_vllm_explains_how_to_install():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    with pytest.raises(ConfigError, match="not installed") as info:
        ensure_vllm_installed()
    assert "pip install 'geovigie[gpu]'" in info.value.hint


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_STANDIN = """
import http.server, sys, time
time.sleep(0.5)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == '/health' else 404); self.end_headers()
    def log_message(self, *a): pass
print('stand-in server ready', flush=True)
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"""


def test_launcher_polls_health_streams_logs_and_tears_down():
    # A stand-in process exercises the launcher's lifecycle (vllm itself needs CUDA: see the gpu test).
    port = _free_port()
    lines: list[str] = []
    server = VllmServer(
        [sys.executable, "-c", _STANDIN, str(port)], base_url=f"http://127.0.0.1:{port}", log=lines.append
    )
    with server:
        assert server.proc is not None and server.proc.poll() is None
    assert server.proc is not None and server.proc.poll() is not None
    assert any("ready" in line for line in lines)


def test_launcher_reports_a_process_that_dies_at_start():
    server = VllmServer(
        [sys.executable, "-c", "import sys; sys.exit(3)"], base_url="http://127.0.0.1:9", log=lambda _l: None
    )
    with pytest.raises(UpstreamError, match="exited with code 3"):
        with server:
            pass


@pytest.mark.gpu
@pytest.mark.skipif(importlib.util.find_spec("vllm") is None, reason="needs vllm and a CUDA GPU")
def test_real_vllm_server_answers_tool_calls():  # pragma: no cover - runs on GPU hosts only
    from openai import OpenAI

    port = _free_port()
    cmd = build_command(get_profile(None), LaunchOptions(port=port, max_model_len=8192))
    with VllmServer(cmd, base_url=f"http://127.0.0.1:{port}"):
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="EMPTY")
        tools = [
            {
                "type": "function",
                "function": {
                    "name": "geocode",
                    "parameters": {
                        "type": "object",
                        "properties": {"query": {"type": "string"}},
                        "required": ["query"],
                    },
                },
            }
        ]
        reply = client.chat.completions.create(  # type: ignore[call-overload]
            model="geovlm",
            messages=[{"role": "user", "content": "Geocode Bordeaux"}],
            tools=tools,
            tool_choice="required",
        )
        assert reply.choices[0].message.tool_calls[0].function.name == "geocode"
