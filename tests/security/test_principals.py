"""Principals: threads belong to a key (finding 6); chat sessions follow their key's revocation and rate
(finding 7)."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from geovigie.serving.api.security import create_key, revoke_key


def test_a_key_cannot_list_read_or_continue_another_keys_thread(settings, make_service, make_app, serve):
    settings.api_require_keys = True
    service = make_service()
    _, alice = create_key(service.ctx.db, name="alice")
    _, bob = create_key(service.ctx.db, name="bob")
    with serve(make_app(service)) as base:
        a = {"authorization": f"Bearer {alice}"}
        b = {"authorization": f"Bearer {bob}"}
        first = httpx.post(base + "/v1/ask", json={"question": "hi", "thread_id": "alice-1"}, headers=a)
        assert first.status_code == 200
        assert [t["id"] for t in httpx.get(base + "/v1/threads", headers=a).json()] == ["alice-1"]
        assert httpx.get(base + "/v1/threads", headers=b).json() == []
        assert httpx.get(base + "/v1/threads/alice-1", headers=b).status_code == 404
        hijack = httpx.post(base + "/v1/ask", json={"question": "more", "thread_id": "alice-1"}, headers=b)
        assert hijack.status_code == 404
        chat = {"model": "geovigie", "messages": [{"role": "user", "content": "x"}], "user": "alice-1"}
        assert httpx.post(base + "/v1/chat/completions", json=chat, headers=b).status_code == 404
        messages = httpx.get(base + "/v1/threads/alice-1", headers=a).json()["messages"]
        assert [m["content"] for m in messages if m["role"] == "user"] == ["hi"]


def _login(client: TestClient, secret: str) -> None:
    reply = client.post("/login", data={"username": "me", "password": secret}, follow_redirects=False)
    assert reply.status_code == 303


def test_chat_session_ends_when_its_key_is_revoked(settings, make_service, make_app):
    settings.api_host = "0.0.0.0"
    settings.api_secure_cookies = False  # the test client speaks plain HTTP
    service = make_service()
    key_id, secret = create_key(service.ctx.db, name="ui")
    with TestClient(make_app(service, mount_ui=True)) as client:
        assert client.get("/config").status_code == 401
        _login(client, secret)
        assert client.get("/config").status_code == 200
        assert revoke_key(service.ctx.db, key_id)
        assert client.get("/config").status_code == 401
        assert client.get("/", follow_redirects=False).status_code == 303  # back to the sign-in page


def test_chat_actions_follow_the_keys_rate_limit(settings, make_service, make_app):
    settings.api_host = "0.0.0.0"
    settings.api_secure_cookies = False
    service = make_service()
    _, secret = create_key(service.ctx.db, name="slow", rate_per_minute=2)
    with TestClient(make_app(service, mount_ui=True)) as client:
        _login(client, secret)
        body = {"data": ["hello", [], None], "fn_index": 0, "session_hash": "s1", "event_data": None}
        codes = [client.post("/gradio_api/queue/join", json=body).status_code for _ in range(3)]
        assert 429 not in codes[:2] and codes[2] == 429


def test_chat_lists_reopens_and_continues_only_the_signed_in_keys_threads(settings, make_service, tmp_path):
    # finding 6 in the chat: the recent-threads list, reopening and continuing follow the signed-in key
    from types import SimpleNamespace

    from geovigie.serving.api.ui_mount import build_hooks
    from geovigie.ui.chat import ChatController
    from geovigie.ui.hooks import UiOptions

    service = make_service()
    alice_id, _ = create_key(service.ctx.db, name="alice")
    bob_id, _ = create_key(service.ctx.db, name="bob")
    chat = ChatController(build_hooks(lambda: service), UiOptions(work_dir=tmp_path))
    alice = SimpleNamespace(username=alice_id, session_hash="sa")
    bob = SimpleNamespace(username=bob_id, session_hash="sb")
    list(chat.respond("hi", [], "alice-thread", request=alice))  # type: ignore[arg-type]
    listed = chat.thread_update(None, request=alice)  # type: ignore[arg-type]
    assert [c[1] for c in listed["choices"]] == ["alice-thread"]
    assert chat.thread_update(None, request=bob)["choices"] == []  # type: ignore[arg-type]
    reopened = chat.open_thread("alice-thread", request=bob)  # type: ignore[arg-type]
    assert "no longer exists" in reopened[0][0].content  # another key's thread is not revealed
    hijack = list(chat.respond("more", [], "alice-thread", request=bob))  # type: ignore[arg-type]
    assert str(hijack[-1][0][-1].content).startswith("⚠")
    mine = chat.open_thread("alice-thread", request=alice)  # type: ignore[arg-type]
    assert [m.content for m in mine[0] if m.role == "user"] == ["hi"]
