"""Build, validate and launch ``vllm serve`` as a managed subprocess.

vllm itself is an optional extra (``pip install geovigie[gpu]``) and is never imported here: the launcher only
checks that the executable exists, runs it, polls ``/health``, streams its log and tears it down
(terminate, wait, then kill) — the same contract as vLLM's own test ``RemoteOpenAIServer``.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import httpx
from pydantic import BaseModel, Field

from geovigie.core.errors import ConfigError, UpstreamError
from geovigie.serving.model.profiles import DEFAULT_PROFILE, PROFILES, VllmProfile


class LaunchOptions(BaseModel):
    """Per-launch settings layered over a profile."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    api_key: str | None = None
    allowed_local_media_path: Path | None = None
    model_path: str | None = None
    """Local weights folder overriding the profile's model id (offline GPU hosts)."""
    gpu_memory_utilization: float | None = None
    tensor_parallel_size: int | None = None
    max_model_len: int | None = None
    images_per_prompt: int | None = None
    extra_args: list[str] = Field(default_factory=list)


def get_profile(name: str | None) -> VllmProfile:
    """A profile by name.

    Raises:
        ConfigError: unknown profile (lists the known ones).
    """
    key = name or DEFAULT_PROFILE
    if key not in PROFILES:
        raise ConfigError(f"Unknown vLLM profile {key!r}.", hint=f"Choose one of: {', '.join(PROFILES)}.")
    return PROFILES[key]


def validate(profile: VllmProfile, options: LaunchOptions) -> None:
    """Check flag combinations before launch.

    Raises:
        ConfigError: with what is wrong and how to fix it.
    """
    if profile.enable_auto_tool_choice and not profile.tool_call_parser:
        raise ConfigError(
            "--enable-auto-tool-choice requires --tool-call-parser.",
            hint="Set tool_call_parser in the profile (hermes for the Qwen family).",
        )
    tp = options.tensor_parallel_size or profile.tensor_parallel_size
    if tp & (tp - 1):
        raise ConfigError(f"tensor parallel size {tp} is not a power of two.", hint="Use 1, 2, 4 or 8 GPUs.")
    util = options.gpu_memory_utilization or profile.gpu_memory_utilization
    if not 0.1 <= util <= 0.98:
        raise ConfigError(f"GPU memory utilisation {util} is out of range.", hint="Use a value between 0.1 and 0.98.")
    max_len = options.max_model_len or profile.max_model_len
    if max_len < 4096:
        raise ConfigError(
            f"max model length {max_len} is too small for images plus tool schemas.", hint="Use at least 4096."
        )
    if options.host not in ("127.0.0.1", "localhost", "::1") and not options.api_key:
        raise ConfigError(
            f"Serving on {options.host} without an API key would expose the model to the network.",
            hint="Pass --api-key (or bind to 127.0.0.1).",
        )
    media = options.allowed_local_media_path
    if media is not None and not media.is_dir():
        raise ConfigError(
            f"--allowed-local-media-path {media} is not a folder.", hint="Point it at the artifacts folder."
        )


def build_command(profile: VllmProfile, options: LaunchOptions) -> list[str]:
    """The argv of ``vllm serve`` for a profile and options (validated)."""
    validate(profile, options)
    images = options.images_per_prompt if options.images_per_prompt is not None else profile.images_per_prompt
    cmd = [
        "vllm",
        "serve",
        options.model_path or profile.model,
        "--served-model-name",
        profile.served_model_name,
        "--host",
        options.host,
        "--port",
        str(options.port),
        "--max-model-len",
        str(options.max_model_len or profile.max_model_len),
        "--gpu-memory-utilization",
        str(options.gpu_memory_utilization or profile.gpu_memory_utilization),
        "--tensor-parallel-size",
        str(options.tensor_parallel_size or profile.tensor_parallel_size),
        "--limit-mm-per-prompt",
        json.dumps({"image": images}),
    ]
    if profile.enable_auto_tool_choice:
        cmd += ["--enable-auto-tool-choice", "--tool-call-parser", str(profile.tool_call_parser)]
    if profile.trust_remote_code:
        cmd.append("--trust-remote-code")
    if profile.chat_template:
        cmd += ["--chat-template", profile.chat_template]
    if profile.mm_processor_kwargs:
        cmd += ["--mm-processor-kwargs", json.dumps(profile.mm_processor_kwargs)]
    if options.allowed_local_media_path is not None:
        cmd += ["--allowed-local-media-path", str(options.allowed_local_media_path.resolve())]
    if options.api_key:
        cmd += ["--api-key", options.api_key]
    return cmd + list(options.extra_args)


def redacted(cmd: list[str]) -> str:
    """The command as a shell line, with the API key hidden."""
    out = list(cmd)
    if "--api-key" in out:
        out[out.index("--api-key") + 1] = "***"
    return shlex.join(out)


def ensure_vllm_installed() -> str:
    """Path of the ``vllm`` executable.

    Raises:
        ConfigError: vllm is not installed (with the install command).
    """
    exe = shutil.which("vllm") or str(Path(sys.executable).with_name("vllm"))
    if importlib.util.find_spec("vllm") is None or not Path(exe).exists():
        raise ConfigError(
            "vLLM is not installed in this environment.",
            hint="On a CUDA host: pip install 'geovigie[gpu]' (in its own environment; it pulls a CUDA torch).",
        )
    return exe


class VllmServer:
    """``vllm serve`` as a context manager: start, wait for /health, stream logs, always tear down."""

    def __init__(
        self, cmd: list[str], *, base_url: str, startup_timeout_s: float = 900.0, log: Callable[[str], None] = print
    ) -> None:
        self.cmd = cmd
        self.base_url = base_url.rstrip("/")
        self.startup_timeout_s = startup_timeout_s
        self.log = log
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> VllmServer:
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._pump, daemon=True).start()
        self.wait_healthy()
        return self

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log(line.rstrip())

    def wait_healthy(self) -> None:
        """Poll ``/health`` until it answers 200.

        Raises:
            UpstreamError: the process exited or did not become healthy in time.
        """
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise UpstreamError(
                    f"vllm exited with code {self.proc.returncode} during start-up.", hint="See its log above."
                )
            try:
                if httpx.get(f"{self.base_url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)
        raise UpstreamError(f"vllm did not become healthy within {self.startup_timeout_s:.0f} s.", hint="See its log.")

    def stop(self, *, grace_s: float = 8.0) -> None:
        """Terminate, wait ``grace_s``, then kill."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=grace_s)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
