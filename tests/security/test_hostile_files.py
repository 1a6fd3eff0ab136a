"""Hostile files and paths: a huge declared raster (finding 2), server files through the chat's ingest
(finding 1), symbolic links out of the data folder (finding 13), concurrent ingest of the same files (finding 12)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from fastapi.testclient import TestClient
from rasterio.windows import Window

from geovigie.core.errors import ToolInputError
from geovigie.serving.api.ui_mount import ingest_uploads
from geovigie.tools.catalog import ingest_paths
from geovigie.tools.catalog.store import get_scene


def _huge_sparse_geotiff(path: Path, side: int = 100_000) -> Path:
    # Tiles never written are not stored (GDAL sparse files): ~300 KB on disk for 10^10 declared pixels.
    profile = {
        "driver": "GTiff", "width": side, "height": side, "count": 3, "dtype": "uint16", "crs": "EPSG:32631",
        "transform": Affine(10, 0, 500_000, 0, -10, 4_800_000), "tiled": True, "blockxsize": 512,
        "blockysize": 512, "compress": "deflate", "sparse_ok": True,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((3, 512, 512), 100, np.uint16), window=Window(0, 0, 512, 512))
    return path


QUICKLOOK = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a runaway read fails here instead of the machine
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext
    from geovigie.tools.catalog import ingest_paths
    from geovigie.tools.registry import TOOLS
    ctx = ToolContext.from_settings(Settings(home=Path(sys.argv[1]), _env_file=None))
    item = ingest_paths([Path(sys.argv[2])], ctx.db).added[0]
    try:
        TOOLS["quicklook"].run({"item_id": item}, ctx)
        out = {"error": None}
    except Exception as exc:
        out = {"error": type(exc).__name__, "message": str(exc)}
    # VmHWM is this program's own peak: ru_maxrss would also count the parent's RSS at fork (Linux keeps it
    # across exec), i.e. the whole test session's memory.
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    out["peak_mb"] = int(hwm.split()[1]) / 1024
    print(json.dumps(out))
    """
)


def test_a_small_file_declaring_10_billion_pixels_is_refused_quickly(tmp_path):
    hostile = _huge_sparse_geotiff(tmp_path / "bomb.tif")
    assert hostile.stat().st_size < 1_000_000
    run = subprocess.run(
        [sys.executable, "-c", QUICKLOOK, str(tmp_path / "home"), str(hostile)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["error"] == "ToolInputError" and "pixel budget" in out["message"], out
    assert out["peak_mb"] < 1000, out


def test_reads_go_through_overviews_when_the_file_has_them(tmp_path, ctx):
    # The budget decimates instead of refusing when an overview serves the view.
    path = tmp_path / "cog.tif"
    side = 4096
    profile = {
        "driver": "GTiff", "width": side, "height": side, "count": 3, "dtype": "uint16", "crs": "EPSG:32631",
        "transform": Affine(10, 0, 500_000, 0, -10, 4_800_000), "tiled": True, "blockxsize": 256, "blockysize": 256,
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.full((3, side, side), 500, np.uint16))
        dst.build_overviews([2, 4, 8, 16])
    from geovigie.tools.registry import TOOLS

    ctx.settings.max_pixels = 1_000_000  # the full band (16.7 M px) is over it, the 1/16 overview is not
    item = ingest_paths([path], ctx.db).added[0]
    out = TOOLS["quicklook"].run({"item_id": item, "max_side": 256}, ctx)
    assert out.result.width == 256


def test_the_chat_ingest_refuses_files_that_were_not_uploaded(settings, make_service, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    secret_dir = tmp_path / "server-secrets"
    secret_dir.mkdir()
    secret = secret_dir / "private.tif"
    with rasterio.open(secret, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as dst:
        dst.write(np.ones((1, 8, 8), np.uint8))
    service = make_service()
    with pytest.raises(ToolInputError, match="not uploaded"):
        ingest_uploads(service, [secret])
    link = tmp_path / "gradio" / "abc" / "innocent.tif"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    with pytest.raises(ToolInputError, match="not uploaded"):
        ingest_uploads(service, [link])  # a link inside the upload folder pointing out of it
    assert not (settings.home / "uploads").exists() or not list((settings.home / "uploads").iterdir())
    uploaded = tmp_path / "gradio" / "def" / "field.tif"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_bytes(secret.read_bytes())
    assert len(ingest_uploads(service, [uploaded])["added"]) == 1


def test_symlinks_out_of_the_data_folder_are_not_followed(settings, make_service, make_app, tmp_path):
    data = tmp_path / "data"
    (data / "scenes").mkdir(parents=True)
    outside = tmp_path / "elsewhere" / "secret.tif"
    outside.parent.mkdir()
    with rasterio.open(outside, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8") as dst:
        dst.write(np.ones((1, 8, 8), np.uint8))
    (data / "scenes" / "looks-local.tif").symlink_to(outside)
    settings.data_dir = data
    with TestClient(make_app(make_service())) as client:
        report = client.post("/v1/catalog/ingest", json={"paths": ["scenes"]}).json()
    assert report["added"] == []
    assert [s["reason"] for s in report["skipped"]] == ["symbolic link pointing outside the folder"]


def test_concurrent_ingests_of_the_same_new_files_all_succeed(ctx, make_geotiff):
    files = [make_geotiff(np.full((3, 16, 16), i + 1, np.uint16), name=f"c{i}.tif") for i in range(6)]
    errors: list[BaseException] = []
    reports = []
    start = threading.Barrier(4)

    def ingest() -> None:
        start.wait()
        try:
            reports.append(ingest_paths(files, ctx.db))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    workers = [threading.Thread(target=ingest) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert errors == []
    ids = {i for r in reports for i in [*r.added, *r.updated, *r.unchanged]}
    assert len(ids) == 6
    for item in ids:
        assert get_scene(ctx.db, item).id == item


def test_item_lookup_treats_sql_wildcards_literally(ctx, make_geotiff, register):
    path = make_geotiff(np.ones((1, 8, 8), np.uint16), name="alpha.tif")
    register(ctx, path, item_id="alpha-scene", bands=[("pan", "pan")])
    assert get_scene(ctx.db, "alpha").id == "alpha-scene"
    for wildcard in ("%", "a%a", "_lpha", "alpha-scen_"):
        with pytest.raises(ToolInputError, match="No image"):
            get_scene(ctx.db, wildcard)


def test_paths_with_nul_or_overlong_names_are_input_errors(make_service, make_app, settings, tmp_path):
    settings.data_dir = tmp_path
    with TestClient(make_app(make_service())) as client:
        for name in ("bad\u0000name.tif", "x" * 300 + ".tif", "é" * 200):
            reply = client.post("/v1/catalog/ingest", json={"paths": [name]})
            assert reply.status_code == 422, (name[:20], reply.text[:200])
            assert str(tmp_path) not in reply.text  # no server path in the message
