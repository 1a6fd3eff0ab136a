"""SQLAlchemy 2 typed ORM models: catalog items, threads, messages, tool runs, artifacts, keys, eval runs."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


class Base(DeclarativeBase):
    """Declarative base of every GeoVigie table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class CatalogItem(Base):
    """One STAC item of the local catalog (the user's own rasters)."""

    __tablename__ = "catalog_items"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    collection: Mapped[str] = mapped_column(String(128), index=True)
    datetime: Mapped[_dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True, nullable=True)
    west: Mapped[float | None] = mapped_column(Float, nullable=True)
    south: Mapped[float | None] = mapped_column(Float, nullable=True)
    east: Mapped[float | None] = mapped_column(Float, nullable=True)
    north: Mapped[float | None] = mapped_column(Float, nullable=True)
    gsd: Mapped[float | None] = mapped_column(Float, nullable=True)
    cloud_cover: Mapped[float | None] = mapped_column(Float, nullable=True)
    georeferenced: Mapped[bool] = mapped_column(Boolean, default=True)
    source_path: Mapped[str] = mapped_column(Text, index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    """Hash of the source files' paths, sizes and mtimes: re-ingesting an unchanged source is a no-op."""
    stac: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The full STAC item (JSON)."""
    ingested_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Thread(Base):
    """A conversation."""

    __tablename__ = "threads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    owner: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    """Key id of the principal that started the thread (``anonymous`` on a keyless loopback server); threads
    made before owners were recorded (NULL) belong to ``anonymous``."""
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)
    messages: Mapped[list[Message]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", order_by="Message.id"
    )


class Message(Base):
    """One message of a thread (user question or assistant answer with its structured result)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("threads.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    thread: Mapped[Thread] = relationship(back_populates="messages")


class ToolRun(Base):
    """One tool execution: inputs, summary, timing, provenance."""

    __tablename__ = "tool_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    tool: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text, default="")
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Artifact(Base):
    """A content-addressed artifact file."""

    __tablename__ = "artifacts"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ApiKey(Base):
    """An API key for the HTTP endpoint, stored hashed."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class EvalRun(Base):
    """One evaluation run and its report."""

    __tablename__ = "eval_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    suites: Mapped[list[Any]] = mapped_column(JSON)
    planner: Mapped[str] = mapped_column(String(32))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    cases: Mapped[list[Any]] = mapped_column(JSON)
    commit: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class TiledRun(Base):
    """A long tiled run (Dask): its state and progress survive a restart of the process that ran it."""

    __tablename__ = "tiled_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """Hash of what the run computes (tool, parameters, scenes, grid, tiling): the same request resumes it."""
    tool: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    """running, done, partial (some tiles failed), cancelled, interrupted (its process died)."""
    total_tiles: Mapped[int] = mapped_column(Integer)
    done_tiles: Mapped[int] = mapped_column(Integer, default=0)
    failed_tiles: Mapped[int] = mapped_column(Integer, default=0)
    pixels: Mapped[int] = mapped_column(BigInteger, default=0)
    work_dir: Mapped[str] = mapped_column(Text)
    """Folder of the tile rasters written by the workers."""
    owner: Mapped[str] = mapped_column(String(128), default="")
    """host:pid of the process driving the run (a dead owner means the run was interrupted)."""
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[_dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class TileState(Base):
    """One finished (or finally failed) tile of a :class:`TiledRun`."""

    __tablename__ = "tiled_run_tiles"

    run_id: Mapped[str] = mapped_column(ForeignKey("tiled_runs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    """done or failed."""
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Pixel count per class value (keys are the values as text)."""
    error: Mapped[str] = mapped_column(Text, default="")
