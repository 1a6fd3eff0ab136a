"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geovigie.tools.embed import LabelledPlace

THREAD_ID = r"^[A-Za-z0-9_.\-]{1,64}$"


class AskRequest(BaseModel):
    """A question, optionally continuing a thread."""

    question: str = Field(min_length=1, max_length=4000)
    thread_id: str | None = Field(default=None, pattern=THREAD_ID)
    confirm_large_runs: bool = Field(
        default=False,
        description="Run large analyses (over GEOVIGIE_CONFIRM_PIXELS) whose cost estimate the user has seen.",
    )
    examples: list[LabelledPlace] | None = Field(
        default=None,
        max_length=200,
        description="Labelled places (label + point [lon, lat] or box) for a map from examples; the thread keeps "
        'them, so "map greenhouses vs fields from my points" uses them.',
    )

    def example_dicts(self) -> list[dict[str, Any]] | None:
        """The examples as plain mappings for the turn service (None when absent)."""
        return [e.model_dump(exclude_none=True) for e in self.examples] if self.examples else None


class ErrorDetail(BaseModel):
    """The one error shape."""

    message: str
    type: str
    code: str


class ErrorBody(BaseModel):
    """``{"error": {message, type, code}}``."""

    error: ErrorDetail


class ChatMessageIn(BaseModel):
    """An OpenAI chat message (text or content parts)."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request GeoVigie honours."""

    model: str = "geovigie"
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    user: str | None = Field(default=None, pattern=THREAD_ID)
    """Used as the thread id, so an OpenAI client can hold a conversation."""


class IngestRequest(BaseModel):
    """Paths to index, relative to (or inside) the data folder."""

    paths: list[str] = Field(min_length=1, max_length=100)
    pixel_size_m: float | None = Field(default=None, gt=0)
