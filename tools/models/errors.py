"""Typed errors of the model layer, each a subclass of the core taxonomy by who must act.

* weights absent, corrupt or of the wrong hash: the operator must act (:class:`~geovigie.core.errors.ConfigError`);
* imagery outside a model's domain (pixel size, bands): the request cannot be served by that model
  (:class:`~geovigie.core.errors.TerminalError`); tools catch it and fall back to their classical method.
"""

from __future__ import annotations

from geovigie.core.errors import ConfigError, TerminalError


class ModelUnavailableError(ConfigError):
    """A model's weights (or its runtime) cannot be found."""

    code = "model_unavailable"


class WeightsIntegrityError(ConfigError):
    """A weights file exists but its SHA-256 or size does not match the model card (truncated, replaced)."""

    code = "model_weights_corrupt"


class ModelDomainError(TerminalError):
    """The imagery is outside what the model was trained on (pixel size, bands)."""

    code = "model_out_of_domain"
