"""Remote search against a real STAC API (``rustac serve``, memory backend) on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from geovigie.core.errors import UpstreamError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.remote import RemoteQuery, cache_items, search_remote
from geovigie.tools.catalog.search import search_imagery
from geovigie.tools.catalog.store import fingerprint_index, get_scene, upsert_item

AOI = (2.0, 48.0, 2.2, 48.2)


def _item(item_id: str, x: float, when: str, cloud: float, collection: str = "remote-s2") -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [],
        "id": item_id,
        "collection": collection,
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x, 47.9], [x + 0.5, 47.9], [x + 0.5, 48.4], [x, 48.4], [x, 47.9]]],
        },
        "bbox": [x, 47.9, x + 0.5, 48.4],
        "properties": {"datetime": when, "eo:cloud_cover": cloud, "gsd": 10},
        "links": [],
        "assets": {
            "B04": {
                "href": f"https://example.invalid/{item_id}/B04.tif",
                "roles": ["data"],
                "eo:bands": [{"name": "B04", "common_name": "red"}],
            }
        },
    }


ITEMS = [
    _item("s2-june-clear", 1.9, "2021-06-10T10:30:00Z", 3.0),
    _item("s2-june-cloudy", 1.9, "2021-06-20T10:30:00Z", 80.0),
    _item("s2-july", 1.9, "2021-07-05T10:30:00Z", 12.0),
    _item("s2-far-away", 20.0, "2021-06-12T10:30:00Z", 1.0),
    _item("l8-june", 1.9, "2021-06-11T10:30:00Z", 2.0, collection="remote-l8"),
]


def _rid(item_id: str) -> str:
    """A remote id as cached: namespaced by the API's host and the collection."""
    return item_id.rsplit("/", 1)[-1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rustac() -> str | None:
    local = Path(sys.executable).parent / "rustac"
    return str(local) if local.exists() else shutil.which("rustac")


@pytest.fixture(scope="module")
def stac_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real STAC API: ``rustac serve`` (in-memory backend, no DuckDB extensions needed) on a free port."""
    exe = _rustac()
    if exe is None:
        pytest.skip("rustac CLI not installed (pip install rustac==0.9.17)")
    folder = tmp_path_factory.mktemp("stac")
    items = folder / "items.ndjson"
    items.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("w")
    proc = subprocess.Popen(
        [exe, "serve", "--addr", f"127.0.0.1:{port}", "--use-duckdb", "false", "--create-collections", str(items)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.skip(f"rustac serve did not start: {(folder / 'serve.log').read_text()[-500:]}")
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


def _ctx(tmp_path: Path, urls: list[str]) -> ToolContext:
    settings = Settings(
        home=tmp_path / "home",
        stac_api_urls=urls,
        stac_timeout_s=5,
        stac_asset_hosts=["example.invalid"],
        _env_file=None,  # type: ignore[call-arg]
    )
    return ToolContext.from_settings(settings)


def test_search_remote_filters_on_the_server(stac_api: str) -> None:
    query = RemoteQuery(bbox=AOI, start=None, end=None, collections=["remote-s2"])
    result = search_remote(stac_api, query, timeout_s=5)
    assert result.ok, result.error
    assert sorted(_rid(i["id"]) for i in result.items) == ["s2-july", "s2-june-clear", "s2-june-cloudy"]
    assert all(i["id"].startswith(stac_api.split("//")[1] + "/remote-s2/") for i in result.items)
    june = search_remote(
        stac_api,
        RemoteQuery(bbox=AOI, start=date(2021, 6, 1), end=date(2021, 6, 30)),
        timeout_s=5,
    )
    assert sorted(_rid(i["id"]) for i in june.items) == ["l8-june", "s2-june-clear", "s2-june-cloudy"]
    assert all(i["properties"]["geovigie:source_api"] == stac_api for i in june.items)
    by_id = search_remote(stac_api, RemoteQuery(ids=["s2-far-away"]), timeout_s=5)
    assert [_rid(i["id"]) for i in by_id.items] == ["s2-far-away"]


def test_search_imagery_uses_the_remote_api_and_caches_items(stac_api: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, [stac_api])
    out = search_imagery.run(
        {"bbox": AOI, "start": "2021-06-01", "end": "2021-07-31", "max_cloud": 20, "collections": ["remote-s2"]}, ctx
    )
    assert [_rid(i.item_id) for i in out.result.items] == ["s2-july", "s2-june-clear"]  # latest first, cloudy dropped
    assert out.result.excluded == {"too cloudy": 1}
    assert all(i.source == stac_api for i in out.result.items)
    assert out.result.items[0].coverage_pct == pytest.approx(100.0)
    assert out.provenance.sources == ["local catalog", stac_api]
    # the items now live in the local catalog: other tools can address them by id
    cached = get_scene(ctx.db, "s2-june-clear")
    assert cached.cloud_cover == 3.0 and cached.require_band("red").href.endswith("B04.tif")
    assert fingerprint_index(ctx.db)[cached.id][1] == stac_api
    # a second search finds them both locally and remotely, without duplicates
    again = search_imagery.run({"bbox": AOI, "collections": ["remote-s2"], "max_cloud": 20}, ctx)
    assert sorted(_rid(i.item_id) for i in again.result.items) == ["s2-july", "s2-june-clear"]


def test_remote_lookup_by_id(stac_api: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, [stac_api])
    out = search_imagery.run({"item_ids": ["s2-far-away"]}, ctx)
    assert [_rid(i.item_id) for i in out.result.items] == ["s2-far-away"]


def test_cache_is_idempotent(stac_api: str, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, [stac_api])
    result = search_remote(stac_api, RemoteQuery(bbox=AOI), timeout_s=5)
    assert cache_items(ctx.db, result) == 4
    assert cache_items(ctx.db, search_remote(stac_api, RemoteQuery(bbox=AOI), timeout_s=5)) == 0


def test_unreachable_api_is_a_note_when_another_source_answers(stac_api: str, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    ctx = _ctx(tmp_path, [dead, stac_api])
    out = search_imagery.run({"bbox": AOI, "collections": ["remote-l8"]}, ctx)
    assert [_rid(i.item_id) for i in out.result.items] == ["l8-june"]
    assert out.result.unreachable == [dead]
    assert any(f"remote catalog {dead} unreachable" in n for n in out.notes)


def test_all_sources_failing_is_an_upstream_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    ctx = _ctx(tmp_path, [dead])
    start = time.monotonic()
    with pytest.raises(UpstreamError) as err:
        search_imagery.run({"bbox": AOI}, ctx)
    assert dead in err.value.message and time.monotonic() - start < 10
    # with a local match, the same failure is only a note
    local = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "local-one",
        "collection": "mine",
        "geometry": {"type": "Polygon", "coordinates": [[[2, 48], [2.2, 48], [2.2, 48.2], [2, 48.2], [2, 48]]]},
        "bbox": list(AOI),
        "properties": {"datetime": "2021-01-01T00:00:00Z"},
        "assets": {},
        "links": [],
    }
    upsert_item(ctx.db, local, source_path="/x/local.tif", fingerprint="1")
    out = search_imagery.run({"bbox": AOI}, ctx)
    assert [i.item_id for i in out.result.items] == ["local-one"]
    assert out.result.items[0].source == "local catalog"
    assert any("unreachable" in n for n in out.notes)


def test_429_and_5xx_are_retried_with_retry_after(stac_api: str, serve: Any) -> None:
    """A proxy in front of the API answers 429 (Retry-After: 1) then 503 before letting each path through."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    seen: dict[str, int] = {}

    async def proxy(request: Request) -> Response:
        path = request.url.path
        seen[path] = seen.get(path, 0) + 1
        if seen[path] == 1:
            return Response("slow down", status_code=429, headers={"Retry-After": "1"})
        if seen[path] == 2:
            return Response("busy", status_code=503)
        body = await request.body()
        target = stac_api + path + (f"?{request.url.query}" if request.url.query else "")
        req = urllib.request.Request(
            target,
            data=body or None,
            method=request.method,
            headers={"Content-Type": request.headers.get("content-type", "application/json")},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read().decode().replace(stac_api, str(request.base_url).rstrip("/"))
            return Response(text, media_type=resp.headers.get("content-type"))

    app = Starlette(routes=[Route("/{path:path}", proxy, methods=["GET", "POST"])])
    with serve(app) as url:
        start = time.monotonic()
        result = search_remote(url, RemoteQuery(bbox=AOI, collections=["remote-s2"]), timeout_s=5, attempts=1)
        elapsed = time.monotonic() - start
    assert result.ok, result.error
    assert len(result.items) == 3
    assert seen["/"] >= 3 and elapsed >= 1.0  # the Retry-After second was waited


def test_private_api_gets_its_bearer_token(stac_api: str, serve: Any, tmp_path: Path) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def guarded(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer tok":
            return Response("unauthorised", status_code=401)
        body = await request.body()
        target = stac_api + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        req = urllib.request.Request(
            target,
            data=body or None,
            method=request.method,
            headers={"Content-Type": request.headers.get("content-type", "application/json")},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            text = resp.read().decode().replace(stac_api, str(request.base_url).rstrip("/"))
            return Response(text, media_type=resp.headers.get("content-type"))

    with serve(Starlette(routes=[Route("/{path:path}", guarded, methods=["GET", "POST"])])) as url:
        query = {"bbox": AOI, "collections": ["remote-l8"]}
        anonymous = search_imagery.run(query, _ctx(tmp_path / "a", [url, stac_api]))
        assert anonymous.result.unreachable == [url]
        settings = Settings(
            home=tmp_path / "b",
            stac_api_urls=[url],
            stac_api_tokens={url: "tok"},
            stac_asset_hosts=["example.invalid"],
            _env_file=None,  # type: ignore[call-arg]
        )
        out = search_imagery.run(query, ToolContext.from_settings(settings))
    assert [_rid(i.item_id) for i in out.result.items] == ["l8-june"] and out.result.unreachable == []
