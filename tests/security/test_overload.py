"""Overload (finding 9): a bounded queue, 429 with Retry-After beyond it, and a ``queued`` event with the position."""

from __future__ import annotations

import json
import threading
import time

import httpx


def test_queue_is_bounded_and_a_queued_stream_says_so(make_service, make_app, serve):
    service = make_service(delay_s=1.0, max_concurrent_turns=1, max_queued_turns=1)
    with serve(make_app(service)) as base:
        events: list[str] = []

        def running() -> None:
            httpx.post(base + "/v1/ask", json={"question": "first"}, timeout=30)

        first = threading.Thread(target=running, daemon=True)
        first.start()
        deadline = time.monotonic() + 10
        while service.load["admitted"] < 1 and time.monotonic() < deadline:
            time.sleep(0.02)

        def queued() -> None:
            with httpx.stream("POST", base + "/v1/chat", json={"question": "second"}, timeout=30) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        events.append(line[6:])

        second = threading.Thread(target=queued, daemon=True)
        second.start()
        while service.load["admitted"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        refused = httpx.post(base + "/v1/ask", json={"question": "third"}, timeout=30)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"]["code"] == "overloaded"
        first.join(timeout=30)
        second.join(timeout=30)
        parsed = [json.loads(e) for e in events]
        assert parsed[0] == {"type": "queued", "position": 1, "thread_id": parsed[0]["thread_id"]}
        assert parsed[-1]["type"] == "final"
        assert httpx.post(base + "/v1/ask", json={"question": "after"}, timeout=30).status_code == 200
