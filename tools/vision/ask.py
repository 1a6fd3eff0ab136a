"""The ask_image tool: let the planner look at imagery through a vision-language model, or measure it offline.

With an endpoint (``GEOVIGIE_VLM_BASE_URL``, else ``GEOVIGIE_LLM_BASE_URL``), the scenes are rendered as
true-colour PNGs over the AOI (all dates on the first date's grid, so that before/after pictures line up) and
sent with the question as OpenAI multimodal content parts (``text`` + ``image_url`` data URLs), the format vLLM
accepts for Qwen2.5-VL / Qwen3-VL / InternVL. Without one (the embedded default), :mod:`geovigie.tools.vision.measure`
answers from pixel measurements and says so.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import openai
from PIL import Image
from pydantic import BaseModel, Field
from rasterio.enums import Resampling

from geovigie.core.domain import BBox, Figure, Provenance, ToolOutput, validate_bbox
from geovigie.core.errors import UpstreamError
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext, geo_tool
from geovigie.tools.catalog import get_scene
from geovigie.tools.raster import (
    Grid,
    Scene,
    display_bands,
    downsample_for_display,
    map_picture,
    read_bands,
    scene_grid,
    to_rgb,
)
from geovigie.tools.vision.measure import LABELS, Language, SceneMeasurement, describe, detect_language, measure_scene

READ_MAX_SIDE = 1024
"""Longest side of the grid read for rendering and measuring (decimated above it)."""
VLM_MAX_SIDE = 768
"""Longest side of each image sent to the VLM (Qwen-VL pixel budgets are of this order)."""
VLM_MAX_TOKENS = 400

VLM_SYSTEM_PROMPT = (
    "You look at satellite or aerial images for GeoVigie, a geospatial assistant. Describe only what is visible: "
    "land cover, water, vegetation, built-up areas, roads, clouds and, for dated pairs, what looks different. "
    "Do not count objects and do not estimate areas, distances or percentages: counts and areas come from "
    "measurement tools. Say when something cannot be seen at this resolution or is hidden by clouds. "
    "Answer in {language}, in at most five sentences."
)


class AskImageInput(BaseModel):
    """Arguments of ``ask_image``."""

    question: str = Field(min_length=2, max_length=2000, description="What to look for, in the user's language.")
    item_ids: list[str] = Field(
        min_length=1,
        max_length=12,
        description="Catalog item ids: one scene, or two (before/after, any order) for a change question.",
    )
    bbox: BBox | None = Field(default=None, description="[west, south, east, north] EPSG:4326; None = whole scene.")


class ImageView(BaseModel):
    """One rendered image (sent to the VLM, or shown next to the measured answer)."""

    item_id: str
    datetime: str | None
    label: str
    """before / after / image k of n."""
    rendering: str
    width: int
    height: int
    artifact_id: str


class AskImageResult(BaseModel):
    """Payload of ``ask_image``."""

    answer: str
    mode: Literal["vlm", "measured"]
    model: str | None
    language: Language
    images: list[ImageView]
    measurements: list[SceneMeasurement] = Field(default_factory=list)
    skipped_item_ids: list[str] = Field(default_factory=list)
    """Scenes left out by the per-request image cap."""


@dataclass
class Rendered:
    """A scene rendered for the VLM: the picture, its caption and the grid it was read on."""

    scene: Scene
    rgb: np.ndarray
    label: str
    rendering: str
    grid: Grid
    decimated: bool
    """True when the grid is coarser than the scene's native pixels."""


def _date_key(indexed: tuple[int, Scene]) -> tuple[bool, str, int]:
    i, scene = indexed
    return (scene.datetime is None, scene.datetime or "", i)


def select_scenes(scenes: list[Scene], cap: int) -> tuple[list[Scene], list[str]]:
    """Distinct scenes in date order, at most ``cap`` of them (first and last kept, the rest evenly spaced).

    Returns:
        (kept scenes, ids of the scenes left out).
    """
    unique = list({s.id: s for s in scenes}.values())
    ordered = [s for _, s in sorted(enumerate(unique), key=_date_key)]
    cap = max(1, cap)
    if len(ordered) <= cap:
        return ordered, []
    if cap == 1:
        keep = [len(ordered) - 1]
    else:
        keep = sorted({round(i * (len(ordered) - 1) / (cap - 1)) for i in range(cap)})
    kept = [ordered[i] for i in keep]
    kept_ids = {s.id for s in kept}
    return kept, [s.id for s in ordered if s.id not in kept_ids]


def _labels(n: int) -> list[str]:
    if n == 1:
        return ["image"]
    if n == 2:
        return ["before", "after"]
    return [f"image {k} of {n}" for k in range(1, n + 1)]


def render_scenes(scenes: list[Scene], bbox: BBox | None) -> list[Rendered]:
    """True-colour renderings over the AOI; later dates are read onto the first date's grid when georeferenced.

    Raises:
        NoDataError: the AOI misses a scene or a scene has no valid pixel there.
        ToolInputError: a bbox on a non-georeferenced image.
    """
    out: list[Rendered] = []
    reference: Rendered | None = None
    for scene, label in zip(scenes, _labels(len(scenes)), strict=True):
        bands, rendering = display_bands(scene)
        unique = list(dict.fromkeys(bands))
        if reference is not None and reference.grid.crs is not None and scene.georeferenced:
            grid, decimated = reference.grid, reference.decimated
        else:
            native = scene_grid(scene, bbox, bands=unique)
            grid = native.at_most(READ_MAX_SIDE)
            decimated = grid is not native
        raster = read_bands(scene, unique, grid)
        raster.data = raster.data[[unique.index(b) for b in bands]]
        rgb = downsample_for_display(to_rgb(raster), max_side=VLM_MAX_SIDE)
        out.append(Rendered(scene=scene, rgb=rgb, label=label, rendering=rendering, grid=grid, decimated=decimated))
        reference = reference or out[-1]
    return out


def png_data_url(rgb: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URL of an (H, W, 3) uint8 image."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[..., :3])).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _caption(view: Rendered, index: int) -> str:
    size = view.grid.pixel_size_m
    gsd = f", about {size * view.grid.width / view.rgb.shape[1]:.0f} m per pixel" if size else ""
    date = view.scene.datetime or "date unknown"
    return f"Image {index} ({view.label}): {view.scene.id}, acquired {date}, {view.rendering}{gsd}."


def build_vlm_messages(question: str, views: list[Rendered], language: Language) -> list[dict[str, Any]]:
    """OpenAI chat messages: a system prompt, then the question, each caption and its PNG as content parts."""
    content: list[dict[str, Any]] = [{"type": "text", "text": question}]
    for i, view in enumerate(views, start=1):
        content.append({"type": "text", "text": _caption(view, i)})
        content.append({"type": "image_url", "image_url": {"url": png_data_url(view.rgb)}})
    system = VLM_SYSTEM_PROMPT.format(language="French" if language == "fr" else "English")
    return [{"role": "system", "content": system}, {"role": "user", "content": content}]


def vlm_endpoint(settings: Settings) -> str | None:
    """The VLM endpoint: ``vlm_base_url``, else ``llm_base_url``, else None (offline)."""
    return settings.vlm_base_url or settings.llm_base_url


def ask_vlm(settings: Settings, messages: list[dict[str, Any]]) -> str:
    """Send the messages to the VLM endpoint and return its text.

    Raises:
        UpstreamError: the endpoint is unreachable, timed out, refused the request or returned no text.
    """
    url = vlm_endpoint(settings)
    assert url, "ask_vlm needs an endpoint"
    # No client retries: the agent graph already retries an UpstreamError once.
    client = openai.OpenAI(base_url=url, api_key=settings.llm_api_key, timeout=settings.llm_timeout_s, max_retries=0)
    offline_hint = "or unset GEOVIGIE_VLM_BASE_URL/GEOVIGIE_LLM_BASE_URL to answer from measurements."
    try:
        reply = client.chat.completions.create(
            model=(settings.vlm_model or settings.llm_model),
            messages=messages,  # type: ignore[arg-type]
            temperature=0.0,
            max_tokens=VLM_MAX_TOKENS,
        )
    except openai.APITimeoutError as exc:
        raise UpstreamError(
            f"The vision model at {url} did not answer within {settings.llm_timeout_s:g} s.",
            hint="Retry later, raise GEOVIGIE_LLM_TIMEOUT_S, " + offline_hint,
        ) from exc
    except openai.APIConnectionError as exc:
        raise UpstreamError(
            f"Cannot reach the vision model at {url}.", hint="Check the endpoint, " + offline_hint
        ) from exc
    except openai.APIStatusError as exc:
        raise UpstreamError(
            f"The vision model at {url} refused the request (HTTP {exc.status_code}): {str(exc.message)[:300]}.",
            hint=(
                f"Check that {(settings.vlm_model or settings.llm_model)!r} accepts images "
                "(e.g. Qwen2.5-VL served by vLLM with "
                f"--limit-mm-per-prompt image>={settings.max_images_per_request}), " + offline_hint
            ),
        ) from exc
    text = (reply.choices[0].message.content or "").strip() if reply.choices else ""
    if not text:
        raise UpstreamError(f"The vision model at {url} returned no text.", hint="Retry, " + offline_hint)
    return text


def _figures(measurements: list[SceneMeasurement]) -> list[Figure]:
    figures: list[Figure] = []
    for m in measurements:
        for key, value in m.fractions_pct.items():
            unc = "approximate (RGB only)" if m.rgb_only and key in ("water", "vegetation") else None
            figures.append(Figure(name=f"{LABELS[key][0]} share {m.item_id}", value=value, unit="%", uncertainty=unc))
    return figures


@geo_tool(name="ask_image", input_model=AskImageInput)
def ask_image(args: AskImageInput, ctx: ToolContext) -> ToolOutput[AskImageResult]:
    """Look at imagery and answer a visual question about it (what is visible, what looks different).

    Use it for qualitative questions (what is in this image, does the flooded area look urban or rural,
    what changed between two dates) after choosing scenes with search_imagery. Give two item ids for a
    before/after comparison. A vision model describes the pictures when one is configured; it does not count
    or measure, so take counts and areas from the measuring tools. Offline it answers from pixel measurements
    (land-cover, water, vegetation, built-up and cloud shares over the AOI) and says so. Returns the answer
    text and the quicklook images it used.
    """
    bbox = validate_bbox(args.bbox) if args.bbox else None
    settings = ctx.settings
    scenes, skipped = select_scenes([get_scene(ctx.db, ref) for ref in args.item_ids], settings.max_images_per_request)
    language = detect_language(args.question)
    ctx.progress(0.1, f"rendering {len(scenes)} image(s)")
    views = render_scenes(scenes, bbox)
    images: list[ImageView] = []
    artifacts = []
    for view in views:
        # The model sees view.rgb; the stored picture is the map's (warped, exact bounds).
        picture, bounds = map_picture(view.rgb, view.grid, resampling=Resampling.bilinear)
        ref = ctx.artifacts.save_png(
            picture,
            title=f"{view.scene.id} {view.scene.datetime or ''} {view.label}".strip(),
            role=view.label if view.label in ("before", "after") else "quicklook",
            bbox=bounds,
        )
        h, w = view.rgb.shape[:2]
        images.append(
            ImageView(
                item_id=view.scene.id,
                datetime=view.scene.datetime,
                label=view.label,
                rendering=view.rendering,
                width=w,
                height=h,
                artifact_id=ref.id,
            )
        )
        artifacts.append(ref)
    notes: list[str] = []
    if skipped:
        notes.append(
            f"Only {len(scenes)} images per request (GEOVIGIE_MAX_IMAGES_PER_REQUEST); left out: {', '.join(skipped)}."
        )
    measurements: list[SceneMeasurement] = []
    if vlm_endpoint(settings):
        ctx.progress(0.4, "asking the vision model")
        answer = ask_vlm(settings, build_vlm_messages(args.question, views, language))
        mode: Literal["vlm", "measured"] = "vlm"
        method = f"vlm:{(settings.vlm_model or settings.llm_model)}"
        notes.append(
            f"Visual interpretation by {(settings.vlm_model or settings.llm_model)}: "
            "qualitative, it neither counted nor measured."
        )
    else:
        for i, view in enumerate(views):
            ctx.progress(0.3 + 0.6 * i / len(views), f"measuring {view.scene.id}")
            measurements.append(measure_scene(view.scene, view.grid))
        answer = describe(args.question, measurements, language)
        mode, method = "measured", "offline measurement interpreter (land-cover rules, cloud test, brightness)"
        notes.append("No vision model configured: answered from pixel measurements, not a visual interpretation.")
    grid = views[0].grid
    if views[0].decimated and measurements:
        notes.append(f"Measured at display resolution ({grid.width}x{grid.height} px): shares are approximate.")
    ids = ", ".join(s.id for s in scenes)
    short = answer if len(answer) <= 600 else answer[:597] + "..."
    return ToolOutput(
        summary=f"ask_image ({mode}, {ids}): {short}",
        result=AskImageResult(
            answer=answer,
            mode=mode,
            model=(settings.vlm_model or settings.llm_model) if mode == "vlm" else None,
            language=language,
            images=images,
            measurements=measurements,
            skipped_item_ids=skipped,
        ),
        provenance=Provenance(
            tool="ask_image",
            method=method,
            scenes=[s.to_ref() for s in scenes],
            crs=grid.crs_string,
            pixel_size_m=grid.pixel_size_m,
            aoi_bbox=bbox,
            parameters={
                "question": args.question,
                "mode": mode,
                "images": len(views),
                "endpoint": vlm_endpoint(settings),
            },
        ),
        figures=_figures(measurements),
        artifacts=artifacts,
        notes=notes,
    )


__all__ = ["AskImageInput", "AskImageResult", "ask_image", "build_vlm_messages", "png_data_url", "select_scenes"]
