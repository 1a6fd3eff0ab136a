"""Inference of the OSCD urban-change network through onnxruntime (no torch at run time), tiled.

The network (:mod:`geovigie.tools.models.oscd_net`, trained by ``benchmarks/train_oscd.py``) takes the two
dates' reflectance in :data:`BANDS` on one 10 m grid and returns a change logit per pixel; a pixel is changed
when its probability reaches :data:`THRESHOLD`. Its domain is Sentinel-2 at 10 m (:data:`PIXEL_SIZE_RANGE_M`, checked
by ``detect_change``, which falls back to the classical method outside it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geovigie.core.errors import ConfigError

BANDS = ("blue", "green", "red", "rededge1", "rededge2", "rededge3", "nir", "nir08", "swir16", "swir22")
"""Sentinel-2 B02, B03, B04, B05, B06, B07, B08, B8A, B11, B12 (the 60 m atmospheric bands are left out)."""
THRESHOLD = 0.5
"""Probability threshold of a graph whose metadata names none (the trained model carries its own, chosen on its
training cities: see :func:`geovigie.tools.models.oscd_train.choose_threshold`)."""
PIXEL_SIZE_RANGE_M = (8.0, 12.5)
"""Pixel sizes accepted as "Sentinel-2 10 m" (the model has seen nothing else)."""
PACKAGED_WEIGHTS = Path(__file__).parent / "weights" / "oscd_siamese.onnx"
TILE = 512
"""Core tile edge for whole-array inference (memory ~ 60 MB per tile on the network's 16-channel level)."""
CONTEXT = 32
"""Context pixels read around each tile: the network sees 22 px around a pixel, so seams do not show."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fill_invalid(x: np.ndarray, mean: Sequence[float]) -> np.ndarray:
    """NaN (no data) -> the band's training mean, i.e. "no information" once normalised (a copy)."""
    out = x.copy()
    for i, m in enumerate(mean):
        band = out[i]
        band[~np.isfinite(band)] = m
    return out


class OscdChangeModel:
    """The exported network behind an onnxruntime session.

    Args:
        session: An ``onnxruntime.InferenceSession`` of the exported graph (see :meth:`from_file`).
        path: Where the graph came from (cited in provenance).

    Raises:
        ConfigError: the graph is not a model of this architecture (inputs or band count differ).
    """

    def __init__(self, session: Any, path: Path) -> None:
        names = [i.name for i in session.get_inputs()]
        shape = session.get_inputs()[0].shape
        if names != ["before", "after"] or shape[1] != len(BANDS):
            raise ConfigError(
                f"Model file {path} is not the OSCD change network (inputs {names}, shape {shape}).",
                hint="Point GeoVigie at the oscd_siamese.onnx file.",
            )
        self.session = session
        self.path = path
        meta = session.get_modelmeta().custom_metadata_map
        self.band_mean: list[float] = json.loads(meta["band_mean"]) if "band_mean" in meta else [0.1] * len(BANDS)
        self.threshold = float(json.loads(meta["threshold"])) if "threshold" in meta else THRESHOLD

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # Dask workers get the model by path (an onnxruntime session cannot be pickled); the file was verified
        # by the process that sent it.
        return (_load_in_worker, (str(self.path),))

    @classmethod
    def from_file(cls, path: Path, *, sha256: str | None, threads: int = 2) -> OscdChangeModel:
        """A CPU session on a file, checked against ``sha256`` unless None (a file just exported).

        Raises:
            ConfigError: missing file, wrong checksum, onnxruntime absent, or not a valid ONNX graph.
        """
        if not path.is_file():
            raise ConfigError(f"Model file {path} does not exist.", hint="Reinstall GeoVigie or retrain the model.")
        if sha256 is not None and sha256_of(path) != sha256:
            raise ConfigError(
                f"Model file {path} does not match its SHA-256 ({sha256[:12]}…): corrupted or replaced.",
                hint="Reinstall GeoVigie, or retrain with `python -m benchmarks.train_oscd --final --export`.",
            )
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ConfigError("onnxruntime is not installed.", hint="pip install onnxruntime") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors on bad files
            raise ConfigError(f"Model file {path} is not a valid ONNX model ({exc}).", hint="Retrain it.") from exc
        return cls(session, path)

    def logits(self, before: np.ndarray, after: np.ndarray) -> np.ndarray:
        """Raw logits (H, W) of one window (padded here to a multiple of 4 by reflection)."""
        h, w = before.shape[1:]
        pads = ((0, 0), (0, (-h) % 4), (0, (-w) % 4))
        mode: Any = "reflect" if min(h, w) > 4 else "edge"
        feeds = {"before": np.pad(before, pads, mode=mode)[None], "after": np.pad(after, pads, mode=mode)[None]}
        out: np.ndarray = self.session.run(["logits"], feeds)[0]
        return out[0, 0, :h, :w]

    def probability(self, before: np.ndarray, after: np.ndarray, *, tile: int = TILE) -> np.ndarray:
        """Change probability (H, W) of two (bands, H, W) reflectance stacks, tile by tile with context.

        NaN (no data) is filled with the band's training mean (no information); the caller masks those
        pixels out.
        """
        before, after = self._filled(before), self._filled(after)
        h, w = before.shape[1:]
        prob = np.empty((h, w), np.float32)
        for y in range(0, h, tile):
            for x in range(0, w, tile):
                y0, x0 = max(y - CONTEXT, 0), max(x - CONTEXT, 0)
                y1, x1 = min(y + tile + CONTEXT, h), min(x + tile + CONTEXT, w)
                logit = self.logits(before[:, y0:y1, x0:x1], after[:, y0:y1, x0:x1])
                core = logit[y - y0 : y - y0 + min(tile, h - y), x - x0 : x - x0 + min(tile, w - x)]
                prob[y : y + tile, x : x + tile] = 1 / (1 + np.exp(-core))
        return prob

    def _filled(self, x: np.ndarray) -> np.ndarray:
        return fill_invalid(np.asarray(x, np.float32), self.band_mean)


_WORKER_MODELS: dict[str, OscdChangeModel] = {}


def _load_in_worker(path: str) -> OscdChangeModel:
    if path not in _WORKER_MODELS:
        _WORKER_MODELS[path] = OscdChangeModel.from_file(Path(path), sha256=None)
    return _WORKER_MODELS[path]
