"""Errors of unreadable rasters: no signing token and no server folder in the message, the right hint."""

from __future__ import annotations

from geovigie.tools.raster.datasets import _unreadable


def test_remote_read_errors_hide_the_token_and_say_what_to_do() -> None:
    href = "https://acct.blob.core.windows.net/c/T30TXQ_B03_10m.tif?st=2026&se=2026&sp=rl&sig=SECRET"
    err = _unreadable(href, OSError(f"HTTP response code: 403 for {href}"))
    assert "SECRET" not in err.message and "T30TXQ_B03_10m.tif" in err.message
    assert "retry" in (err.hint or "") and "re-ingest" not in (err.hint or "")


def test_local_read_errors_keep_the_ingest_hint() -> None:
    err = _unreadable("/srv/data/scene.tif", OSError("not recognised"))
    assert "/srv/data" not in err.message and "re-ingest" in (err.hint or "")
