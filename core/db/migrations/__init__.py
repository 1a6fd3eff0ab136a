"""Alembic migrations of the GeoVigie schema (run by :mod:`core.db.migrate` whenever a Database opens)."""
