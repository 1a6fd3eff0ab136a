"""GeoVigie: ask about a place and a risk, get an answer measured on satellite imagery, with provenance.

The import names are ``geovigie.core``, ``geovigie.tools``, ``geovigie.agent``, ``geovigie.serving``,
``geovigie.ui`` and ``geovigie.evals``: in the repository the top-level folders of the same names are linked here,
so an installed GeoVigie never claims generic top-level names such as ``tools`` or ``core`` (see ARCHITECTURE.md).
"""

__version__ = "0.1.0"
