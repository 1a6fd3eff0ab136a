"""The HTTP edge against a real server on loopback: bodies, keys, Host, CORS, cookies, headers, docs."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import httpx

from geovigie.serving.api.security import create_key


def _raw(base: str, request: bytes, *, then: bytes = b"", wait_s: float = 3.0) -> bytes:
    """Send ``request`` on a socket, then (if the server has not answered yet) ``then``; return what came back."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=wait_s) as sock:
        sock.sendall(request)
        sock.settimeout(wait_s)
        try:
            reply = sock.recv(65536)
        except TimeoutError:
            reply = b""
        if not reply and then:
            sock.sendall(then)
            reply = sock.recv(65536)
    return reply


def test_chunked_body_over_the_limit_is_refused_while_streaming(settings, make_service, make_app, serve):
    # Finding 3: no Content-Length, so only counting the streamed bytes can enforce the limit.
    settings.api_max_request_bytes = 10_000
    with serve(make_app(make_service())) as base:

        def chunks():
            for _ in range(200):  # 200 x 10 kB = 2 MB, 200 times the limit
                yield b'{"question": "' + b"x" * 10_000

        reply = httpx.post(base + "/v1/ask", content=chunks(), headers={"content-type": "application/json"}, timeout=20)
        assert reply.status_code == 413
        assert reply.json()["error"]["code"] == "too_large"


def test_key_is_checked_before_the_body_is_read(settings, make_service, make_app, serve):
    # Finding 3: a keyless caller gets its 401 after the headers, without the server waiting for (and buffering)
    # the announced 150 MB body.
    settings.api_require_keys = True
    with serve(make_app(make_service())) as base:
        head = (
            b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        reply = _raw(base, head + b"10\r\n" + b"{" * 16 + b"\r\n", wait_s=3.0)
        assert reply.startswith(b"HTTP/1.1 401"), reply[:200]


def test_forged_host_is_refused_on_the_keyless_loopback_server(settings, make_service, make_app, serve):
    # Finding 8: DNS rebinding sends the attacker's name as Host; loopback names still work.
    with serve(make_app(make_service())) as base:
        port = urlsplit(base).port
        assert httpx.get(base + "/v1/threads", headers={"host": "rebind.attacker.example"}).status_code == 400
        assert httpx.get(base + "/v1/threads", headers={"host": f"localhost:{port}"}).status_code == 200
        assert httpx.get(base + "/v1/threads", headers={"host": f"[::1]:{port}"}).status_code == 200
        assert httpx.get(base + "/v1/threads").status_code == 200


def test_cors_only_for_configured_origins_and_strict_cookies(settings, make_service, make_app, serve):
    # Finding 4: reached by a network name, Gradio reflected any Origin with credentials allowed.
    settings.api_host = "0.0.0.0"  # a network deployment: keys required, any Host accepted
    settings.api_cors_origins = ["https://maps.example.org"]
    settings.api_allowed_hosts = ["geovigie.example.org"]
    service = make_service()
    _, secret = create_key(service.ctx.db, name="ui")
    with serve(make_app(service, mount_ui=True)) as base:
        host = {"host": "geovigie.example.org"}
        for path in ("/config", "/gradio_api/info", "/v1/threads"):
            evil = httpx.get(base + path, headers={**host, "origin": "https://evil.example"})
            assert evil.status_code != 400 and "access-control-allow-origin" not in evil.headers, path
        key = {"authorization": f"Bearer {secret}"}
        good = httpx.get(base + "/v1/threads", headers={**host, **key, "origin": "https://maps.example.org"})
        assert good.headers.get("access-control-allow-origin") == "https://maps.example.org"
        login = httpx.post(base + "/login", data={"username": "me", "password": secret}, headers=host)
        cookie = login.headers["set-cookie"].lower()
        assert login.status_code == 303
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie


def test_security_headers_and_docs_behind_the_key(settings, make_service, make_app, serve):
    # Low findings: no CSP / nosniff / frame-ancestors; /docs open without a key when keys are required.
    settings.api_require_keys = True
    with serve(make_app(make_service())) as base:
        health = httpx.get(base + "/healthz")
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert httpx.get(base + path).status_code == 401, path


def test_health_probe_stays_fast_while_turns_saturate_the_pool(settings, make_service, make_app, serve):
    # Finding 9 (probe part): /healthz answered after 19 s behind a burst, because it ran in the thread pool.
    # Two slots (the core count, as by default): the other turns wait in the queue, holding pool threads.
    service = make_service(delay_s=0.15, max_concurrent_turns=2, max_queued_turns=100)
    with serve(make_app(service)) as base, httpx.Client(base_url=base, timeout=30) as client:

        def one(i: int) -> None:
            httpx.post(base + "/v1/ask", json={"question": f"q{i}"}, timeout=60)

        burst = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(46)]
        for t in burst:
            t.start()
        deadline = time.monotonic() + 20
        while service.load["admitted"] < 42 and time.monotonic() < deadline:  # every request queued or running
            time.sleep(0.05)
        times = []
        for _ in range(10):
            start = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - start)
        # The target is the median; one probe may wait for a busy core on a shared CI machine (it waited 19 s
        # behind the pool before the fix).
        median = sorted(times)[len(times) // 2]
        assert median < 0.1, f"median /healthz {median * 1000:.0f} ms under load"
        assert max(times) < 1.0, f"slowest /healthz {max(times) * 1000:.0f} ms under load"
        for t in burst:
            t.join(timeout=60)
