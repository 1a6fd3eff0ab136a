"""ONNX inference: one onnxruntime session per weights file, CPU by default, a GPU provider when present.

onnxruntime is imported lazily so that importing the tools never loads it. Sessions are cached per (path, device):
loading the YOLO graph takes ~0.3 s, an inference ~1 s per 1024 px tile on 2 cores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from geovigie.tools.models.errors import ModelUnavailableError, WeightsIntegrityError

logger = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "gpu"]
GPU_PROVIDERS = ("CUDAExecutionProvider", "ROCMExecutionProvider", "CoreMLExecutionProvider")

_sessions: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a default dependency
        raise ModelUnavailableError(
            "onnxruntime is not installed, so learned models cannot run.",
            hint="pip install onnxruntime (the classical methods are used meanwhile).",
        ) from exc
    return onnxruntime


def providers(device: Device = "auto") -> list[str]:
    """Onnxruntime execution providers for a device choice, best first, CPU always last."""
    available = set(_onnxruntime().get_available_providers())
    chosen = [] if device == "cpu" else [p for p in GPU_PROVIDERS if p in available]
    return [*chosen, "CPUExecutionProvider"]


def session(path: Path, device: Device = "auto") -> Any:
    """A cached onnxruntime ``InferenceSession`` for a verified ``.onnx`` file.

    Raises:
        WeightsIntegrityError: the file is not a loadable ONNX graph.
    """
    key = (str(path.resolve()), device)
    with _lock:
        if key not in _sessions:
            ort = _onnxruntime()
            options = ort.SessionOptions()
            options.log_severity_level = 3  # warnings about unused initialisers are noise here
            try:
                _sessions[key] = ort.InferenceSession(str(path), sess_options=options, providers=providers(device))
            except Exception as exc:  # onnxruntime raises its own untyped exceptions
                raise WeightsIntegrityError(
                    f"{path} is not a loadable ONNX model: {str(exc).splitlines()[0][:200]}",
                    hint="Export or copy the model again.",
                ) from exc
            logger.info("onnx session path=%s providers=%s", path, _sessions[key].get_providers())
        return _sessions[key]


def clear_sessions() -> None:
    """Forget cached sessions (tests, or after weights were replaced)."""
    with _lock:
        _sessions.clear()


def fixed_batch(sess: Any) -> int | None:
    """The batch size an ONNX graph requires (1 for a static export), or None when it is dynamic."""
    dim = sess.get_inputs()[0].shape[0]
    return dim if isinstance(dim, int) else None


def run_batched(
    sess: Any,
    items: Iterable[Sequence[np.ndarray]],
    *,
    batch: int = 4,
    progress: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Run a session on items (one array per graph input, without batch axis), ``batch`` at a time.

    Yields the graph's first output per item (batch axis removed), in input order. A graph exported with a fixed
    batch of 1 is fed one item at a time. ``progress`` receives the number of items done so far.
    """
    size = fixed_batch(sess) or max(1, batch)
    names = [i.name for i in sess.get_inputs()]
    done = 0
    pending: list[Sequence[np.ndarray]] = []

    def flush() -> list[np.ndarray]:
        feeds = {name: np.stack([item[k] for item in pending]).astype(np.float32) for k, name in enumerate(names)}
        out = sess.run(None, feeds)[0]
        return [out[i] for i in range(len(pending))]

    for item in items:
        pending.append(item)
        if len(pending) == size:
            outs = flush()
            done += len(pending)
            pending = []
            if progress is not None:
                progress(done)
            yield from outs
    if pending:
        outs = flush()
        done += len(pending)
        if progress is not None:
            progress(done)
        yield from outs
