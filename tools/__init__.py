"""GeoVigie's tool layer: the typed tools the planners may call, grouped in rooms by domain noun.

GeoVigie's tool layer: the typed tools the planners may call, grouped in rooms by domain noun.

``base`` (the ``@geo_tool`` contract, ``ToolContext``) and ``artifacts`` (the artifact store) are the framework every
room uses; ``registry`` lists the tools (``TOOLS``). Rooms, lowest first: ``raster`` <- ``catalog`` <- ``segment`` <-
``change`` / ``count`` / ``vision``; ``places`` and ``models`` stand alone. A room imports only ``geovigie.core``, the
framework and the faces of the rooms below it; it never imports ``agent``, ``serving`` or ``ui``.
"""
