"""Cloud and cloud-shadow masks from DLR's ukis-csmask U-Nets (optional extra ``csmask``, Apache-2.0).

The package ships four ONNX U-Nets (4 bands blue/green/red/nir, or 6 with swir16/swir22; Sentinel-2 L1C or L2A
reflectance) and tiles the image at 256 px itself. The networks were trained at about 30 m: at 10 m they call
dark surfaces shadow (48 % of the Sen1Floods11 flood water, measured here), so the bands are block-averaged to
the pixel size closest to 30 m first and the classes repeated back onto the input grid.
"""

from __future__ import annotations

import importlib.util
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from geovigie.tools.models.cards import ModelCard, ModelFile
from geovigie.tools.models.errors import ModelDomainError, ModelUnavailableError

WORK_PIXEL_M = 30.0
BANDS_6 = ("blue", "green", "red", "nir", "swir16", "swir22")
BANDS_4 = ("blue", "green", "red", "nir")
CLEAR, CLOUD, SHADOW = 0, 1, 2

_SHA = {
    "model_4b_l1c.onnx": "81611f290adc315b86bb7e7c69b0f2496b3abe0390c2a5c8e9e9da9622e8a0c8",
    "model_4b_l2a.onnx": "3884d75ca497ec59d8335973477bd31eb038857007bbb36fb2aba1ad375ee043",
    "model_6b_l1c.onnx": "aa79e9a0f02ff8e0243d93771d1daf6a8d1166b7ac06c3771560b83367c6c573",
    "model_6b_l2a.onnx": "d11c530978637ca420eedc40791c62bf78997dd39e1201777e2527e4bd94904e",
}


def _card(bands: tuple[str, ...]) -> ModelCard:
    n = len(bands)
    return ModelCard(
        name=f"ukis-csmask-{n}b",
        title=f"ukis-csmask U-Net ({n} bands)",
        version="1.0.0",
        task="cloud_mask",
        classes=("clear", "cloud", "cloud_shadow"),
        bands=bands,
        pixel_size_m=(20.0, 60.0),
        native_pixel_m=WORK_PIXEL_M,
        normalisation="TOA/BOA reflectance 0–1, per-band mean/std of the package's model JSON",
        licence="Apache-2.0",
        restrictive=False,
        source="PyPI ukis-csmask 1.0.0 (DLR), package resources model_*b_{l1c,l2a}.onnx",
        url="https://pypi.org/project/ukis-csmask/",
        package="ukis_csmask",
        files=tuple(
            ModelFile(name=name, sha256=sha, size_bytes=39_601_686 if n == 4 else 39_603_414)
            for name, sha in _SHA.items()
            if name.startswith(f"model_{n}b")
        ),
        trained_on="Sentinel-2 and Landsat scenes at ~30 m (upstream)",
        notes="Optional extra (145 MB wheel). Run at ~30 m: at 10 m it confuses dark water with shadow.",
    )


CSMASK_6B = _card(BANDS_6)
CSMASK_4B = _card(BANDS_4)


def csmask_available() -> bool:
    """Whether the optional ukis-csmask package is installed (checked without importing it)."""
    return importlib.util.find_spec("ukis_csmask") is not None


@dataclass
class CloudShadow:
    """Masks on the input grid and how they were made."""

    cloud: np.ndarray
    shadow: np.ndarray
    card: ModelCard
    factor: int
    """Block-averaging factor applied before the network (3 at 10 m)."""
    info: dict[str, Any] = field(default_factory=dict)


def _block_mean(stack: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return stack
    h, w = stack.shape[:2]
    ph, pw = -h % factor, -w % factor
    padded = np.pad(stack, ((0, ph), (0, pw), (0, 0)), mode="edge")
    hh, ww = padded.shape[0] // factor, padded.shape[1] // factor
    return padded.reshape(hh, factor, ww, factor, -1).mean(axis=(1, 3))


def cloud_shadow(
    bands: dict[str, np.ndarray], *, pixel_size_m: float | None, level: Literal["l1c", "l2a"] = "l2a"
) -> CloudShadow:
    """Cloud and shadow masks of reflectance bands (0–1, NaN = nodata), computed at ~30 m.

    Raises:
        ModelUnavailableError: ukis-csmask is not installed.
        ModelDomainError: bands missing, or the pixel size unknown or coarser than 60 m.
    """
    if not csmask_available():
        raise ModelUnavailableError(
            "ukis-csmask is not installed.", hint="pip install 'geovigie[csmask]' (145 MB); s2cloudless is used."
        )
    card = CSMASK_6B if all(b in bands for b in BANDS_6) else CSMASK_4B
    card.check_domain(pixel_size_m=WORK_PIXEL_M, bands=tuple(bands))
    if pixel_size_m is None or pixel_size_m > 60.0:
        raise ModelDomainError(
            f"ukis-csmask needs a known pixel size of 60 m or finer (got {pixel_size_m}).",
            hint="s2cloudless or the threshold test is used instead.",
        )
    factor = max(1, round(WORK_PIXEL_M / pixel_size_m))
    stack = np.stack([bands[b] for b in card.bands], axis=-1).astype(np.float32)
    valid = np.isfinite(stack).all(axis=-1)
    small = _block_mean(np.nan_to_num(stack, nan=0.0), factor).astype(np.float32)
    from ukis_csmask.mask import CSmask

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns below 256 px and about its own tiling
        classes = np.asarray(CSmask(small, list(card.bands), product_level=level, invalid_buffer=0).csm)[..., 0]
    full = np.repeat(np.repeat(classes, factor, axis=0), factor, axis=1)[: stack.shape[0], : stack.shape[1]]
    info = {"model": card.name, "version": card.version, "licence": card.licence, "level": level,
            "work_pixel_m": round(pixel_size_m * factor, 1)}  # fmt: skip
    return CloudShadow(cloud=(full == CLOUD) & valid, shadow=(full == SHADOW) & valid, card=card, factor=factor,
                       info=info)  # fmt: skip
