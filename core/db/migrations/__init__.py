"""Alembic migrations of the GeoVigie schema (run by :mod:`geovigie.core.db.migrate` whenever a Database opens)."""
