"""Learned models: model cards, their resolution and inference runtimes.

Learned models: model cards (task, bands, pixel size, normalisation, licence, source, sha256, measured accuracy),
their resolution from the models folder, an installed package or an opt-in download, and CPU/GPU inference runtimes.

May import ``geovigie.core``, the tool framework and ``geovigie.tools.raster``; the analysis rooms call it, never the
reverse.
"""
