"""Remote href policy, SAS signing with token expiry, GDAL HTTP options."""

from __future__ import annotations

import time

import pytest

from geovigie.tools.raster import vsi


@pytest.mark.parametrize(
    ("url", "hosts", "ok"),
    [
        ("https://a.blob.core.windows.net/c/B04.tif", [".blob.core.windows.net"], True),
        ("https://blob.core.windows.net.evil.io/B04.tif", [".blob.core.windows.net"], False),
        ("http://127.0.0.1:8080/x.tif", ["127.0.0.1:8080"], True),
        ("http://127.0.0.1:8081/x.tif", ["127.0.0.1:8080"], False),
        ("file:///etc/passwd", ["127.0.0.1:8080", ".windows.net"], False),
        ("/etc/passwd", ["127.0.0.1"], False),
        ("s3://sentinel-cogs/x.tif", ["sentinel-cogs"], False),
    ],
)
def test_host_allowed(url: str, hosts: list[str], ok: bool) -> None:
    assert vsi.host_allowed(url, hosts) is ok


def test_tokens_are_cached_until_shortly_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    lifetime = [3600.0]

    def fetch(sas_url: str, collection: str, timeout_s: float) -> tuple[str, float]:
        calls.append(collection)
        return f"sv=1&sig=t{len(calls)}", time.time() + lifetime[0]

    monkeypatch.setattr(vsi, "_fetch_token", fetch)
    vsi.expire_tokens()
    a = vsi.sign("https://x.blob.core.windows.net/c/B04.tif", "https://sas.example/token", "sentinel-2-l2a")
    b = vsi.sign("https://x.blob.core.windows.net/c/B03.tif", "https://sas.example/token", "sentinel-2-l2a")
    assert a.endswith("?sv=1&sig=t1") and b.endswith("?sv=1&sig=t1") and calls == ["sentinel-2-l2a"]
    lifetime[0] = 60.0  # the next token expires within the 5-minute margin: every call renews it
    vsi.expire_tokens()
    vsi.sign("https://x.blob.core.windows.net/c/B04.tif", "https://sas.example/token", "landsat-c2-l2")
    c = vsi.sign("https://x.blob.core.windows.net/c/B04.tif", "https://sas.example/token", "landsat-c2-l2")
    assert c.endswith("sig=t3") and calls[-2:] == ["landsat-c2-l2", "landsat-c2-l2"]
    vsi.expire_tokens()


def test_http_options_are_the_documented_set() -> None:
    options = vsi.http_options(128)
    assert options["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"
    assert options["CPL_VSIL_CURL_CACHE_SIZE"] == str(128 * 1024 * 1024)
    assert options["GDAL_HTTP_MERGE_CONSECUTIVE_RANGES"] == "YES" and options["GDAL_HTTP_MULTIPLEX"] == "YES"
    assert ".tif" in options["CPL_VSIL_CURL_ALLOWED_EXTENSIONS"]
