"""ask_image: offline measurement interpreter, VLM request payload, endpoint errors, and a real llama.cpp server."""

from __future__ import annotations

import base64
import importlib
import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from openai.types.chat import ChatCompletionMessageParam
from PIL import Image
from pydantic import TypeAdapter

from geovigie.core.errors import TerminalError, UpstreamError
from geovigie.tools.catalog.store import get_scene
from geovigie.tools.vision.ask import ask_image, build_vlm_messages, render_scenes, select_scenes
from geovigie.tools.vision.measure import detect_language

S2_BANDS = [("B02", "blue"), ("B03", "green"), ("B04", "red"), ("B08", "nir"), ("B11", "swir16")]
WATER = (800, 600, 400, 200, 100)  # blue, green, red, nir, swir16 reflectance x 1e4: MNDWI ~0.7, NDVI < 0
FOREST = (300, 800, 400, 4000, 1800)  # NDVI ~0.82, NDMI ~0.38: tree cover


def spectra(water_cols: int, size: int = 40, seed: int = 0) -> np.ndarray:
    """(5, size, size) uint16 scene whose left ``water_cols`` columns are water and the rest forest."""
    rng = np.random.default_rng(seed)
    data = np.empty((5, size, size), np.float64)
    for b in range(5):
        data[b, :, :water_cols] = WATER[b]
        data[b, :, water_cols:] = FOREST[b]
    data *= rng.normal(1.0, 0.03, size=data.shape)
    return data.astype(np.uint16)


@pytest.fixture
def halves(ctx, make_geotiff, register):
    path = make_geotiff(spectra(20), name="halves.tif")
    return register(ctx, path, item_id="halves", bands=S2_BANDS, scale=1e-4, datetime="2021-07-01T10:00:00Z")


@pytest.fixture
def pair(ctx, make_geotiff, register):
    """Two dates: 25 % water on 2019-05-01, 75 % on 2019-11-01 (a flood)."""
    early = make_geotiff(spectra(10, seed=1), name="early.tif")
    late = make_geotiff(spectra(30, seed=2), name="late.tif")
    register(ctx, early, item_id="early", bands=S2_BANDS, scale=1e-4, datetime="2019-05-01T10:00:00Z")
    register(ctx, late, item_id="late", bands=S2_BANDS, scale=1e-4, datetime="2019-11-01T10:00:00Z")
    return "early", "late"


def test_offline_answer_is_measured_not_looked_at(ctx, halves):
    out = ask_image.run({"question": "What is visible in this image?", "item_ids": [halves]}, ctx)
    res = out.result
    assert res.mode == "measured" and res.model is None and res.language == "en"
    shares = res.measurements[0].fractions_pct
    assert abs(shares["water"] - 50) < 2 and abs(shares["vegetation"] - 50) < 2 and shares["cloud"] < 1
    assert abs(shares["tree_cover"] - 50) < 2  # NDMI ~0.38 > 0.3
    assert res.answer.startswith("Measured, not looked at")
    assert "water 5" in res.answer and "dominant class" in res.answer
    assert out.provenance.method.startswith("offline measurement interpreter")
    assert out.provenance.scenes[0].item_id == "halves" and out.provenance.crs == "EPSG:32631"
    water_fig = next(f for f in out.figures if f.name == "water share halves")
    assert water_fig.unit == "%" and water_fig.value == shares["water"]
    png = Image.open(out.artifacts[0].path)
    assert png.format == "PNG" and png.size == (40, 40) and res.images[0].artifact_id == out.artifacts[0].id
    assert any("not a visual interpretation" in n for n in out.notes)


def test_offline_answer_follows_the_question_language_and_theme(ctx, halves):
    out = ask_image.run({"question": "Y a-t-il de l'eau dans cette zone ?", "item_ids": [halves]}, ctx)
    text = out.result.answer
    assert out.result.language == "fr"
    assert text.startswith("Réponse mesurée, pas une interprétation visuelle")
    # The asked-about class comes first, with a French decimal comma.
    assert re.search(r"halves \(2021-07-01\) : eau (49|50),\d %, végétation", text)
    assert "classe dominante" in text


def test_language_detection_cues():
    assert detect_language("Qu'est-ce qui a changé entre ces deux images ?") == "fr"
    assert detect_language("What changed between these two images?") == "en"
    assert detect_language("Décris la forêt") == "fr"


def test_before_after_are_ordered_by_date_and_change_is_measured(ctx, pair):
    early, late = pair
    out = ask_image.run({"question": "How much has the water grown?", "item_ids": [late, early]}, ctx)
    res = out.result
    assert [i.item_id for i in res.images] == [early, late]
    assert [i.label for i in res.images] == ["before", "after"]
    assert [a.role for a in out.artifacts] == ["before", "after"]
    before, after = (m.fractions_pct["water"] for m in res.measurements)
    assert abs(before - 25) < 2 and abs(after - 75) < 2
    assert "Between 2019-05-01 and 2019-11-01: water +" in res.answer
    assert [s.item_id for s in out.provenance.scenes] == [early, late]


def test_rgb_only_scene_says_it_is_approximate(ctx, make_geotiff, register):
    rgb = np.zeros((3, 30, 30), np.float64)
    rgb[:, :, :15] = np.array([20, 30, 60])[:, None, None]  # dark blue: water
    rgb[:, :, 15:] = np.array([60, 140, 50])[:, None, None]  # green: vegetation
    rgb = (rgb * np.random.default_rng(3).normal(1.0, 0.04, rgb.shape)).astype(np.uint8)
    path = make_geotiff(rgb, name="rgb.tif")
    register(ctx, path, item_id="rgb", bands=[("R", "red"), ("G", "green"), ("B", "blue")])
    out = ask_image.run({"question": "what do you see", "item_ids": ["rgb"]}, ctx)
    m = out.result.measurements[0]
    assert m.rgb_only and abs(m.fractions_pct["water"] - 50) < 5 and abs(m.fractions_pct["vegetation"] - 50) < 5
    assert "RGB-only imagery" in out.result.answer
    assert next(f for f in out.figures if f.name == "water share rgb").uncertainty == "approximate (RGB only)"


def test_greyscale_scene_cannot_be_measured_offline(ctx, make_geotiff, register):
    path = make_geotiff(np.full((1, 20, 20), 90, np.uint8), name="grey.tif")
    register(ctx, path, item_id="grey", bands=[("pan", "pan")])
    with pytest.raises(TerminalError, match="only pan") as err:
        ask_image.run({"question": "what is this", "item_ids": ["grey"]}, ctx)
    assert "quicklook" in err.value.hint


# --- the VLM request -----------------------------------------------------------------------------------------


@pytest.fixture
def series(ctx, make_geotiff, register):
    """Five dated scenes registered out of date order."""
    ids = []
    for k, month in enumerate([9, 1, 5, 3, 7]):
        path = make_geotiff(spectra(5 + 5 * k, seed=k), name=f"s{k}.tif")
        ids.append(
            register(
                ctx, path, item_id=f"s-2020-{month:02d}", bands=S2_BANDS, scale=1e-4, datetime=f"2020-{month:02d}-01"
            )
        )
    return ids


def decode_png(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.format == "PNG"
    return img


def test_vlm_payload_caps_images_orders_them_and_is_valid_openai(ctx, series):
    scenes, skipped = select_scenes([get_scene(ctx.db, i) for i in series], cap=3)
    assert [s.id for s in scenes] == ["s-2020-01", "s-2020-05", "s-2020-09"] and len(skipped) == 2
    messages = build_vlm_messages("Qu'est-ce qui a changé ?", render_scenes(scenes, None), "fr")
    assert messages[0]["role"] == "system" and "Do not count" in messages[0]["content"]
    assert "French" in messages[0]["content"]
    parts = messages[1]["content"]
    images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    captions = [p["text"] for p in parts if p["type"] == "text"][1:]
    assert len(images) == 3 and all(decode_png(u).size == (40, 40) for u in images)
    assert [c.split(": ")[1].split(",")[0] for c in captions] == ["s-2020-01", "s-2020-05", "s-2020-09"]
    assert "about 10 m per pixel" in captions[0]
    # The OpenAI schema (openai package types) accepts every message exactly as built: no unknown keys.
    assert [as_openai_message(m) for m in messages] == messages


OPENAI_MESSAGE: TypeAdapter[Any] = TypeAdapter(ChatCompletionMessageParam)


def as_openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the openai package's ChatCompletionMessageParam schema reads it (unknown keys dropped)."""
    checked = dict(OPENAI_MESSAGE.validate_python(message))
    if not isinstance(checked.get("content"), str | None):
        # Iterable[...] validates lazily, with the adapter's definitions: keep the adapter alive (module level).
        checked["content"] = [dict(part) for part in checked["content"]]
    return checked


class FakeVLM(BaseHTTPRequestHandler):
    """A loopback OpenAI-compatible endpoint that records requests and answers with ``reply``."""

    requests: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if self.status == 200:
            payload = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": "A river crosses green fields."},
                    }
                ],
            }
        else:
            payload = {"error": {"message": "Image input is not supported by this model", "type": "invalid_request"}}
        data = json.dumps(payload).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_vlm() -> Iterator[tuple[str, type[FakeVLM]]]:
    handler = type("Handler", (FakeVLM,), {"requests": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    server.shutdown()
    server.server_close()


def test_vlm_path_sends_capped_images_and_returns_its_text(ctx, series, fake_vlm):
    url, handler = fake_vlm
    ctx.settings.vlm_base_url, ctx.settings.max_images_per_request, ctx.settings.llm_model = url, 2, "qwen-vl"
    out = ask_image.run({"question": "Describe the changes", "item_ids": series}, ctx)
    body = handler.requests[0]["body"]
    assert handler.requests[0]["path"] == "/v1/chat/completions" and body["model"] == "qwen-vl"
    urls = [p["image_url"]["url"] for p in body["messages"][1]["content"] if p["type"] == "image_url"]
    assert len(urls) == 2 and all(decode_png(u) for u in urls)
    assert out.result.mode == "vlm" and out.result.answer == "A river crosses green fields."
    assert out.provenance.method == "vlm:qwen-vl" and not out.figures and not out.result.measurements
    assert [i.item_id for i in out.result.images] == ["s-2020-01", "s-2020-09"]
    assert out.result.skipped_item_ids == ["s-2020-03", "s-2020-05", "s-2020-07"]
    assert any("left out" in n for n in out.notes) and len(out.artifacts) == 2


def test_vlm_refusal_is_an_upstream_error_with_a_hint(ctx, halves, fake_vlm):
    url, handler = fake_vlm
    handler.status = 400
    ctx.settings.llm_base_url = url
    with pytest.raises(UpstreamError, match="HTTP 400") as err:
        ask_image.run({"question": "what is this", "item_ids": [halves]}, ctx)
    assert "accepts images" in err.value.hint and "not supported" in err.value.message


def test_unreachable_vlm_is_an_upstream_error(ctx, halves):
    ctx.settings.vlm_base_url = "http://127.0.0.1:9/v1"  # discard port: nothing listens
    with pytest.raises(UpstreamError, match="Cannot reach"):
        ask_image.run({"question": "what is this", "item_ids": [halves]}, ctx)


# --- a real OpenAI-compatible server (llama.cpp, text-only SmolLM2) ------------------------------------------


@pytest.mark.llm_server
def test_real_server_accepts_the_multimodal_request(ctx, make_geotiff, register, llm_server, monkeypatch):
    """A text-only model behind llama.cpp takes the request (it reads the parts as text, sees no image).

    This proves the request format end to end, not a visual answer: the answer is whatever SmolLM2 writes.
    """
    # `geovigie.tools.vision.ask` is also the registered tool's name in the package: patch the module object itself.
    monkeypatch.setattr(importlib.import_module("geovigie.tools.vision.ask"), "VLM_MAX_TOKENS", 16)
    ctx.settings.llm_base_url, ctx.settings.llm_model = llm_server.base_url, llm_server.model
    path = make_geotiff(spectra(4, size=8), name="tiny.tif")
    register(ctx, path, item_id="tiny", bands=S2_BANDS, scale=1e-4)
    out = ask_image.run({"question": "What is visible?", "item_ids": ["tiny"]}, ctx)
    assert out.result.mode == "vlm" and out.result.answer and out.result.model == "smollm2-135m"
    assert out.provenance.method == "vlm:smollm2-135m" and out.artifacts[0].kind == "png"


@pytest.mark.llm_server
def test_real_server_refusal_of_a_large_image_is_a_clear_upstream_error(ctx, make_geotiff, register, llm_server):
    """llama.cpp's text-only chat format pastes the data URL into the prompt: a real image overflows the context."""
    ctx.settings.llm_base_url, ctx.settings.llm_model = llm_server.base_url, llm_server.model
    noise = np.random.default_rng(5).integers(0, 10_000, size=(5, 300, 300), dtype=np.uint16)
    register(ctx, make_geotiff(noise, name="noise.tif"), item_id="noise", bands=S2_BANDS, scale=1e-4)
    with pytest.raises(UpstreamError, match="HTTP 400") as err:
        ask_image.run({"question": "What is visible?", "item_ids": ["noise"]}, ctx)
    assert "context length" in err.value.message and "accepts images" in err.value.hint
