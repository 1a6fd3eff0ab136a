"""Loopback servers for tests of remote reading: a file host honouring ``Range`` and ``rustac serve`` STAC APIs.

Fixtures: ``loopback`` (session) gives :class:`FileServer`, :func:`stac_api`, :func:`serve_app` and the rustac CLI
finder; ``serve`` is :func:`serve_app` (run any small Starlette app on a free port).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FileServer:
    """COGs over HTTP with Range support; optionally refusing unsigned requests (Planetary Computer blobs)."""

    root: Path
    signed: bool = False
    bearer: str | None = None
    """When set, requests without ``Authorization: Bearer <bearer>`` get 401 (a private deployment)."""
    token: str = "st=2026-01-01T00%3A00%3A00Z&se=2099-01-01T00%3A00%3A00Z&sp=rl&sv=2021-06-08&sr=c&sig=replica"
    log: list[tuple[str, int, int]] = field(default_factory=list)
    refused: int = 0
    tokens_issued: int = 0
    port: int = 0
    _server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """``host:port``."""
        return f"127.0.0.1:{self.port}"

    def bytes_served(self) -> int:
        """Bytes sent so far."""
        return sum(n for _, _, n in self.log)

    def distinct_bytes(self) -> int:
        """Bytes of the union of the ranges served (what was needed at least once)."""
        total = 0
        by_file: dict[str, list[tuple[int, int]]] = {}
        for path, start, n in self.log:
            by_file.setdefault(path, []).append((start, start + n))
        for spans in by_file.values():
            spans.sort()
            end = -1
            for a, b in spans:
                if a > end:
                    total += b - a
                    end = b
                elif b > end:
                    total += b - end
                    end = b
        return total

    async def _token(self, request: Request) -> Response:
        self.tokens_issued += 1
        expiry = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        return JSONResponse({"msft:expiry": expiry, "token": self.token})

    async def _file(self, request: Request) -> Response:
        rel = request.path_params["path"]
        path = (self.root / rel).resolve()
        if self.root.resolve() not in path.parents or not path.is_file():
            return Response(status_code=404)
        if self.bearer is not None and request.headers.get("authorization") != f"Bearer {self.bearer}":
            self.refused += 1
            return Response(status_code=401)
        if self.signed and request.query_params.get("sig") != "replica":
            self.refused += 1
            return Response("AuthenticationFailed: Server failed to authenticate the request.", status_code=403)
        size = path.stat().st_size
        header = request.headers.get("range")
        match = _RANGE.match(header.strip()) if header else None
        if request.method == "HEAD":
            return Response(headers={"Content-Length": str(size), "Accept-Ranges": "bytes"})
        if match is None:  # no (or a multi-) range: the whole file, as RFC 9110 allows
            data = path.read_bytes()
            self.log.append((rel, 0, len(data)))
            return Response(data, headers={"Accept-Ranges": "bytes"}, media_type="image/tiff")
        start = int(match[1])
        end = min(int(match[2]) if match[2] else size - 1, size - 1)
        if start >= size:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
        with path.open("rb") as fh:
            fh.seek(start)
            data = fh.read(end - start + 1)
        self.log.append((rel, start, len(data)))
        return Response(
            data,
            status_code=206,
            headers={"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"},
            media_type="image/tiff",
        )

    @contextmanager
    def running(self) -> Iterator[FileServer]:
        """Serve in a background thread until the block ends."""
        routes = [Route("/files/{path:path}", self._file, methods=["GET", "HEAD"])]
        if self.signed:
            routes.append(Route("/api/sas/v1/token/{collection}", self._token))
        self.port = free_port()
        config = uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="error")
        self._server = uvicorn.Server(config)
        thread = threading.Thread(target=self._server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("file server did not start")
            time.sleep(0.02)
        try:
            yield self
        finally:
            self._server.should_exit = True
            thread.join(timeout=5)


@contextmanager
def serve_app(app: Starlette) -> Iterator[str]:
    """Run an ASGI app on a free loopback port in a thread; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def serve() -> Any:
    """:func:`serve_app`, for tests that need a small HTTP server of their own."""
    return serve_app


def rustac_exe() -> str | None:
    """The rustac CLI of this environment, or None."""
    local = Path(sys.executable).parent / "rustac"
    return str(local) if local.exists() else shutil.which("rustac")


@contextmanager
def stac_api(items: list[dict[str, Any]], folder: Path) -> Iterator[str]:
    """``rustac serve`` (memory backend) over ``items`` on a free port; yields its URL."""
    exe = rustac_exe()
    if exe is None:
        raise FileNotFoundError("rustac")
    folder.mkdir(parents=True, exist_ok=True)
    ndjson = folder / "items.ndjson"
    ndjson.write_text("\n".join(json.dumps(i) for i in items) + "\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("w")
    cmd = [exe, "serve", "--addr", f"127.0.0.1:{port}", "--use-duckdb", "false", "--create-collections", str(ndjson)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((folder / "serve.log").read_text()[-500:]) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="session")
def loopback() -> SimpleNamespace:
    """The loopback server helpers of this module."""
    return SimpleNamespace(FileServer=FileServer, stac_api=stac_api, serve_app=serve_app, rustac=rustac_exe)
