from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog.store import upsert_item
from geovigie.tools.change.tool import detect_change
from geovigie.tools.models import ModelFile, clear_sessions, oscd_card, oscd_runtime, sha256_of
from geovigie.tools.raster.scene import SENTINEL2_BANDS

pytest.importorskip("onnxruntime", reason="onnxruntime runs the learned Sentinel-2 change model")

S2 = [(band, common) for band, (common, _) in SENTINEL2_BANDS.items() if common in oscd_runtime.BANDS]
SIZE = 96


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised network of the shipped architecture (the decision path, not the accuracy)."""
    torch = pytest.importorskip("torch", reason="torch (extra 'train') exports the test network")
    pytest.importorskip("onnx", reason="onnx writes the exported graph")
    from geovigie.tools.models.oscd_net import SiamDiffUNet, export_onnx

    torch.manual_seed(0)
    n = len(oscd_runtime.BANDS)
    model = SiamDiffUNet(n, (4, 8, 8), mean=[0.15] * n, std=[0.05] * n).eval()
    path = tmp_path_factory.mktemp("models") / "tiny_oscd.onnx"
    export_onnx(model, str(path), bands=n, threshold=0.4)
    return path


@pytest.fixture
def tiny_card(tiny_onnx, monkeypatch):
    card = oscd_card.build_card(sha256=sha256_of(tiny_onnx), size_bytes=tiny_onnx.stat().st_size,
                                loco_f1=[("rennes", 0.5), ("paris", 0.3)])  # fmt: skip
    card = card.model_copy(update={"files": (card.files[0].model_copy(update={"name": tiny_onnx.name}),),
                                   "package": None})  # fmt: skip
    monkeypatch.setattr(oscd_card, "OSCD_SIAMDIFF", card)
    clear_sessions()
    return card


def _ctx(tmp_path: Path, models_dir: Path, **extra) -> ToolContext:
    settings = Settings(home=tmp_path / "home", stac_api_urls=[], llm_base_url=None, models_dir=models_dir,
                        _env_file=None, **extra)  # type: ignore[call-arg]  # fmt: skip
    return ToolContext.from_settings(settings)


def _add_pair(ctx: ToolContext, make_geotiff, register, pixel_m: float = 10.0) -> tuple[str, str]:
    rng = np.random.default_rng(0)
    before = rng.uniform(0.05, 0.25, (len(S2), SIZE, SIZE)).astype(np.float32)
    after = before + rng.normal(0, 0.005, before.shape).astype(np.float32)
    after[:, 30:50, 30:50] = 0.35  # a bright new surface
    ids = []
    for name, data, day in (("s2-before", before, "2020-06-01"), ("s2-after", after, "2021-06-01")):
        path = make_geotiff((data * 10_000).astype(np.uint16), name=f"{name}.tif",
                            transform=Affine(pixel_m, 0, 500_000, 0, -pixel_m, 4_800_000))  # fmt: skip
        ids.append(register(ctx, path, item_id=name, bands=S2, datetime=f"{day}T10:00:00Z", scale=1e-4,
                            gsd=pixel_m))  # fmt: skip
    return ids[0], ids[1]


def _run(ctx: ToolContext, ids: tuple[str, str], preset: str = "urban"):
    return detect_change.run({"before_item_id": ids[0], "after_item_id": ids[1], "preset": preset}, ctx)


def test_urban_change_on_sentinel2_uses_the_learned_model_and_cites_it(tmp_path, tiny_card, tiny_onnx, make_geotiff,
                                                                       register):  # fmt: skip
    ctx = _ctx(tmp_path, tiny_onnx.parent)
    out = _run(ctx, _add_pair(ctx, make_geotiff, register))
    assert out.result.method == f"learned:{tiny_card.name}"
    assert tiny_card.title in out.summary
    assert out.provenance.parameters["model"]["name"] == tiny_card.name
    assert any("learned model" in n and tiny_card.licence in n for n in out.notes)
    assert "leave-one-city-out F1 0.40" in out.summary  # the mean of the card's per-city figures
    assert any("F1 urban change 0.5 on OSCD city rennes" in n for n in out.notes)
    with rasterio.open(ctx.artifacts.path_of(out.result.artifacts.mask_cog)) as src:
        classes = src.read(1)
    assert classes.shape == (SIZE, SIZE) and set(np.unique(classes)) <= {0, 1, 2, 3, 255}
    # The classes are the model's decision at 0.5 (no cleaning): recompute it on the arrays.
    with rasterio.open(tmp_path / "s2-before.tif") as b, rasterio.open(tmp_path / "s2-after.tif") as a:
        model = oscd_runtime.OscdChangeModel.from_file(tiny_onnx, sha256=None)
        prob = model.probability(b.read().astype(np.float32) * 1e-4, a.read().astype(np.float32) * 1e-4)
    assert model.threshold == 0.4  # from the graph's metadata
    screened = classes != 3  # cloud screening as in the classical path: excluded pixels are not decided
    assert screened.mean() > 0.9
    assert np.array_equal(np.isin(classes, [1, 2])[screened], (prob >= model.threshold)[screened])


def test_classical_fallbacks_say_why(tmp_path, tiny_card, tiny_onnx, make_geotiff, register):
    ctx = _ctx(tmp_path, tiny_onnx.parent)
    ids = _add_pair(ctx, make_geotiff, register)
    # Another preset: the classical method, silently.
    assert not _run(ctx, ids, "generic").result.method.startswith("learned")
    # Models disabled: classical, silently.
    off = _run(_ctx(tmp_path, tiny_onnx.parent, models_enabled=False), ids)
    assert off.result.method == "cva" and "model" not in off.provenance.parameters
    # Weights absent: classical, with a note.
    absent = _run(_ctx(tmp_path, tmp_path / "nowhere"), ids)
    assert absent.result.method == "cva" and any("not installed" in n for n in absent.notes)


def test_wrong_checksum_and_wrong_pixel_size_fall_back_with_a_note(tmp_path, tiny_card, tiny_onnx, make_geotiff,
                                                                  register, monkeypatch):  # fmt: skip
    ctx = _ctx(tmp_path, tiny_onnx.parent)
    coarse = _run(ctx, _add_pair(ctx, make_geotiff, register, pixel_m=30.0))
    assert coarse.result.method == "cva" and any("10 m" in n or "outside" in n for n in coarse.notes)
    bad = tiny_card.model_copy(update={"files": (ModelFile(name=tiny_onnx.name, sha256="0" * 64),)})
    monkeypatch.setattr(oscd_card, "OSCD_SIAMDIFF", bad)
    ctx2 = _ctx(tmp_path / "2", tiny_onnx.parent)
    out = _run(ctx2, _add_pair(ctx2, make_geotiff, register))
    assert out.result.method == "cva" and any("SHA-256" in n for n in out.notes)


# --- the shipped model on real data ---------------------------------------------------------------------------

CLASSICAL_RENNES_F1 = 0.477
"""The classical urban preset on rennes (benchmarks/accuracy_change.py)."""


def _oscd_item(root: Path, city: str, which: int) -> dict[str, Any]:
    folder = root / "oscd" / city / f"imgs_{which}"
    dates = dict(line.split(":") for line in (root / "oscd" / city / "dates.txt").read_text().split("\n") if line)
    day = dates[f"date_{which}"].strip()
    assets = {band: {"href": str(next(folder.glob(f"*_{band}.tif"))), "roles": ["data"], "gsd": gsd,
                     "eo:bands": [{"name": band}]} for band, (_, gsd) in SENTINEL2_BANDS.items()}  # fmt: skip
    with rasterio.open(assets["B02"]["href"]) as src:
        b = src.bounds
    props = {"datetime": f"{day[:4]}-{day[4:6]}-{day[6:]}T00:00:00Z", "gsd": 10.0, "geovigie:scale": 1e-4,
             "platform": "sentinel-2"}  # fmt: skip
    return {"type": "Feature", "id": f"oscd-{city}-{which}", "collection": "oscd", "geometry": None,
            "bbox": [b.left, b.bottom, b.right, b.top], "properties": props, "assets": assets, "links": []}  # fmt: skip


def test_shipped_model_maps_rennes_better_than_the_classical_preset(ctx, data_dir):
    """In-sample (the shipped model was trained on all 8 cities): a sanity bound, not an accuracy figure."""
    if not oscd_runtime.PACKAGED_WEIGHTS.is_file():
        pytest.skip(f"the trained OSCD model is not shipped ({oscd_runtime.PACKAGED_WEIGHTS} absent)")
    if not (data_dir / "oscd" / "rennes").is_dir():
        pytest.skip(f"OSCD rennes not found under {data_dir}")
    for which in (1, 2):
        item = _oscd_item(data_dir, "rennes", which)
        upsert_item(ctx.db, item, source_path=item["id"], fingerprint=item["id"])
    assert oscd_card.OSCD_SIAMDIFF is not None, "weights ship without their card"
    out = _run(ctx, ("oscd-rennes-1", "oscd-rennes-2"))
    assert out.result.method == f"learned:{oscd_card.OSCD_SIAMDIFF.name}", out.notes
    with rasterio.open(ctx.artifacts.path_of(out.result.artifacts.mask_cog)) as src:
        pred = np.isin(src.read(1), [1, 2])
    with rasterio.open(data_dir / "oscd" / "rennes" / "cm" / "rennes-cm.tif") as src:
        truth = src.read(1) == 2
    f1 = 2 * (pred & truth).sum() / (pred.sum() + truth.sum())
    assert f1 > CLASSICAL_RENNES_F1


def test_no_shipped_weights_means_the_classical_method_silently(tmp_path, make_geotiff, register, monkeypatch):
    monkeypatch.setattr(oscd_card, "OSCD_SIAMDIFF", None)
    ctx = _ctx(tmp_path, tmp_path / "models")
    out = _run(ctx, _add_pair(ctx, make_geotiff, register))
    assert out.result.method == "cva" and not any("learned urban-change" in n for n in out.notes)
