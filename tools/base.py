"""The tool contract: a typed function, its pydantic input, a context of dependencies, and a registry entry.

A tool is written as::

    class GeocodeInput(BaseModel): ...

    @geo_tool(name="geocode", input_model=GeocodeInput)
    def geocode(args: GeocodeInput, ctx: ToolContext) -> ToolOutput[GeocodeResult]:
        \"\"\"Docstring = the prompt the planner sees.\"\"\"

The decorator returns a :class:`GeoTool`, which validates raw arguments, times the call and turns pydantic
validation failures into :class:`~geovigie.core.errors.ToolInputError` that the planner can correct.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from geovigie.core.db.store import Database
from geovigie.core.domain import ToolOutput
from geovigie.core.errors import ToolInputError
from geovigie.core.settings import Settings
from geovigie.tools.artifacts import ArtifactStore

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, str], None]


PIXEL_BUDGET: ContextVar[int | None] = ContextVar("geovigie_pixel_budget", default=None)
"""Source pixels one raster read may decode (``Settings.max_pixels`` of the running tool; see
:func:`geovigie.tools.raster.read.check_read_budget`). Unset outside a tool: the settings default applies."""


def _no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass
class ToolContext:
    """Dependencies a tool may use; passed in, never global."""

    settings: Settings
    db: Database
    artifacts: ArtifactStore
    progress: ProgressFn = field(default=_no_progress)
    """Called with (fraction 0..1, message) during long work."""
    confirm_large_runs: bool = False
    """True once the user has seen a large run's cost estimate and confirmed it (see ``confirm_pixels``)."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set to cancel the tiled work in progress: it stops at its next tile and keeps what is done."""

    @classmethod
    def from_settings(cls, settings: Settings, *, progress: ProgressFn | None = None) -> ToolContext:
        """Build a context (database, artifact store) from settings."""
        settings.ensure_dirs()
        return cls(
            settings=settings,
            db=Database(settings.resolved_db_url),
            artifacts=ArtifactStore(settings.resolved_artifacts_dir),
            progress=progress or _no_progress,
        )


InT = TypeVar("InT", bound=BaseModel)


def format_validation_error(exc: ValidationError) -> str:
    """Compact, model-readable list of what is wrong with the arguments."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


@dataclass(frozen=True)
class GeoTool(Generic[InT]):
    """A registered tool: name, input model, prompt and implementation."""

    name: str
    input_model: type[InT]
    func: Callable[[InT, ToolContext], ToolOutput[Any]]
    description: str

    def parse(self, raw: dict[str, Any] | BaseModel) -> InT:
        """Validate raw arguments.

        Raises:
            ToolInputError: with a readable list of problems, for the planner to fix.
        """
        if isinstance(raw, self.input_model):
            return raw
        data = raw.model_dump() if isinstance(raw, BaseModel) else raw
        try:
            return self.input_model.model_validate(data)
        except ValidationError as exc:
            raise ToolInputError(
                f"Invalid arguments for {self.name}: {format_validation_error(exc)}.",
                hint="Correct the arguments to match the tool's schema.",
            ) from exc

    def run(self, raw: dict[str, Any] | BaseModel, ctx: ToolContext) -> ToolOutput[Any]:
        """Validate and run the tool."""
        args = self.parse(raw)
        start = time.perf_counter()
        budget = PIXEL_BUDGET.set(ctx.settings.max_pixels)
        try:
            return self.func(args, ctx)
        finally:
            PIXEL_BUDGET.reset(budget)
            logger.info("tool %s took %.2fs", self.name, time.perf_counter() - start)

    def json_schema(self) -> dict[str, Any]:
        """JSON schema of the input (for OpenAI-style tool definitions)."""
        return self.input_model.model_json_schema()


def geo_tool(
    *, name: str, input_model: type[InT]
) -> Callable[[Callable[[InT, ToolContext], ToolOutput[Any]]], GeoTool[InT]]:
    """Register a function as a GeoVigie tool; its docstring is the planner's prompt."""

    def wrap(func: Callable[[InT, ToolContext], ToolOutput[Any]]) -> GeoTool[InT]:
        doc = inspect.getdoc(func)
        if not doc:
            raise TypeError(f"tool {name} needs a docstring: it is the planner's prompt")
        return GeoTool(name=name, input_model=input_model, func=func, description=doc)

    return wrap
