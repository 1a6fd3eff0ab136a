"""Foundation-model embeddings of pixels, and the tools built on them: ``find_similar`` and ``map_from_examples``.

Foundation-model embeddings: Presto (per-pixel S1/S2 embeddings) and Galileo nano (per-patch space-time
embeddings), architectures written here, exported to ONNX once,
computed tiled and batched over a scene or an AOI, cached per item, grid and model version under ``home``; light
classifiers on them; similarity search and few-shot mapping tools.

May import ``geovigie.core``, the tool framework, ``geovigie.tools.raster``, ``geovigie.tools.catalog`` and
``geovigie.tools.models``.
"""

from geovigie.tools.embed.card import PRESTO, presto_onnx
from geovigie.tools.embed.classifier import Classifier, fit_logistic, knn_scores
from geovigie.tools.embed.examples import LabelledPlace, map_from_examples
from geovigie.tools.embed.galileo_card import GALILEO, galileo_normalisation, galileo_onnx
from geovigie.tools.embed.galileo_embed import embed_arrays, embed_galileo
from geovigie.tools.embed.inputs import degrees_to_unit, from_arrays, series
from geovigie.tools.embed.service import EmbeddingMap, embed, run_pixels
from geovigie.tools.embed.similar import find_similar

__all__ = [
    "GALILEO",
    "PRESTO",
    "Classifier",
    "EmbeddingMap",
    "LabelledPlace",
    "degrees_to_unit",
    "embed",
    "embed_arrays",
    "embed_galileo",
    "find_similar",
    "fit_logistic",
    "from_arrays",
    "galileo_normalisation",
    "galileo_onnx",
    "knn_scores",
    "map_from_examples",
    "presto_onnx",
    "run_pixels",
    "series",
]
