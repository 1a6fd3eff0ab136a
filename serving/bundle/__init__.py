"""Answer bundles: export a thread's answers with their inputs and outputs as STAC, and replay them anywhere.

Owns ``geovigie export`` / ``geovigie replay`` and ``GET /v1/threads/{id}/bundle``: the replay record written
with each turn (input items and code version), the bundle's STAC Collection and Items (inputs with byte
checksums, outputs), ``run.json`` (calls, arguments, thresholds, models, figures), offline STAC validation, and
the replay that re-runs the recorded calls on the recorded bytes and compares every figure.
"""

from geovigie.serving.bundle.export import export_bundle, export_latest, parse_target, write_bundle
from geovigie.serving.bundle.record import REPLAY_KEY, code_version, replay_record
from geovigie.serving.bundle.replay import FigureCheck, ReplayReport, replay_bundle, tolerance_of
from geovigie.serving.bundle.stac import validate_folder

__all__ = [
    "REPLAY_KEY",
    "FigureCheck",
    "ReplayReport",
    "code_version",
    "export_bundle",
    "export_latest",
    "parse_target",
    "replay_bundle",
    "replay_record",
    "tolerance_of",
    "validate_folder",
    "write_bundle",
]
