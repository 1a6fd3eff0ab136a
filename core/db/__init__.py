"""Persistence: SQLAlchemy models and the database handle."""

from geovigie.core.db.models import (
    ApiKey,
    Artifact,
    Base,
    CatalogItem,
    EvalRun,
    Message,
    Thread,
    TiledRun,
    TileState,
    ToolRun,
)
from geovigie.core.db.store import Database

__all__ = [
    "ApiKey",
    "Artifact",
    "Base",
    "CatalogItem",
    "Database",
    "EvalRun",
    "Message",
    "Thread",
    "TileState",
    "TiledRun",
    "ToolRun",
]
