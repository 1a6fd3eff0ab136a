"""Alembic environment: migrates the connection handed over by :mod:`geovigie.core.db.migrate`, or the configured URL.

Programmatic runs (every ``Database`` open) pass their live connection in ``config.attributes["connection"]``,
so the SQLite pragmas and the caller's transaction apply. The ``alembic`` CLI (see ``alembic.ini`` beside this
file) opens ``-x url=...``, else the URL of the GeoVigie settings.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from geovigie.core.db.migrate import include_object
from geovigie.core.db.models import Base

config = context.config
target_metadata = Base.metadata
if config.config_file_name is not None and "connection" not in config.attributes:
    # The CLI: log as alembic.ini says (programmatic runs leave the host application's logging alone).
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        compare_type=True,
        # SQLite cannot ALTER most things: future revisions rewrite tables in batch mode there.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    from geovigie.core.db.store import normalize_url
    from geovigie.core.settings import Settings

    return normalize_url(Settings().resolved_db_url)


def run_offline() -> None:
    """Emit the SQL of the migrations instead of running it (``alembic upgrade head --sql``)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run the migrations on the handed-over connection, or on a fresh engine for the CLI."""
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
