"""Alembic revisions, oldest first (``v0001_initial`` is the schema that ``create_all`` used to build)."""
