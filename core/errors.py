"""Typed errors, divided by who must act.

* :class:`ToolInputError` — the model (or the user) can fix the call; it goes back to the planner.
* :class:`TerminalError` — the request cannot be answered as asked (no data, too cloudy, too coarse);
  the answer explains why and what would work.
* :class:`UpstreamError` — a remote service is down or slow; retried, then reported.
* :class:`ConfigError` — the operator misconfigured GeoVigie; fail at start.

Each error carries a ``message`` (what is wrong) and a ``hint`` (what to do). User-facing text is built
from these only at the edges (CLI, HTTP, UI).
"""

from __future__ import annotations


class GeoVigieError(Exception):
    """Base of all GeoVigie errors."""

    code: str = "geovigie_error"
    status_code: int = 500

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def user_message(self) -> str:
        """Message and hint, as shown to a person."""
        return f"{self.message} {self.hint}".strip()

    def to_dict(self) -> dict[str, str]:
        """One JSON-friendly shape for every edge."""
        return {"message": self.user_message, "type": type(self).__name__, "code": self.code}


class ToolInputError(GeoVigieError):
    """Invalid arguments that the caller can correct (bad bbox, unknown band, inverted dates...)."""

    code = "invalid_input"
    status_code = 422


class TerminalError(GeoVigieError):
    """The request cannot be answered as asked; retrying the same call will not help."""

    code = "cannot_answer"
    status_code = 422


class NoDataError(TerminalError):
    """No imagery / no valid pixels for the request."""

    code = "no_data"
    status_code = 404


class TooCloudyError(TerminalError):
    """The scene is too cloudy over the area of interest."""

    code = "too_cloudy"


class ResolutionTooCoarseError(TerminalError):
    """The pixel size is too coarse for the requested object."""

    code = "resolution_too_coarse"


class AmbiguousPlaceError(ToolInputError):
    """A place name matches several places; the caller must choose."""

    code = "ambiguous_place"


class UpstreamError(GeoVigieError):
    """A remote service (STAC API, model endpoint) failed or timed out."""

    code = "upstream_unavailable"
    status_code = 503


class ConfigError(GeoVigieError):
    """Operator misconfiguration, detected at start."""

    code = "misconfigured"
    status_code = 500


class ConfirmationRequiredError(TerminalError):
    """A run is large enough that the user must see its cost estimate and confirm it first."""

    code = "confirmation_required"
    status_code = 409


class OverloadedError(GeoVigieError):
    """Too many turns are running or waiting; the client should retry after ``retry_after_s``."""

    code = "overloaded"
    status_code = 429

    def __init__(self, message: str, *, hint: str = "", retry_after_s: int = 5) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class ThreadNotFoundError(GeoVigieError):
    """The thread does not exist for this caller (it may be another principal's: that is not revealed)."""

    code = "not_found"
    status_code = 404
