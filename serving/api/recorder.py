"""The queryable record of conversations (SQLAlchemy): threads, messages, tool runs, artifacts.

The LangGraph checkpointer owns resumable graph state; this module owns what people and services query.
It is written from one place, after each turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from geovigie.agent.answer import Answer
from geovigie.core.db.models import Artifact, Message, Thread, ToolRun
from geovigie.core.db.store import Database

_TOOL_NAME_CHARS = 64
"""Length of ``ToolRun.tool``: a model may call a long made-up name, and PostgreSQL enforces lengths."""


def record_turn(db: Database, answer: Answer) -> None:
    """Persist a finished turn: the question, the answer with its payload, tool runs and artifacts."""
    # Lazy: the bundle package reads threads through this module. The replay record keeps what replay needs.
    from geovigie.serving.bundle.record import REPLAY_KEY, replay_record

    with db.session() as session:
        thread = session.get(Thread, answer.thread_id)
        if thread is None:
            thread = Thread(id=answer.thread_id, title=answer.question[:200])
            session.add(thread)
        thread.updated_at = datetime.now(UTC)
        session.add(Message(thread_id=answer.thread_id, role="user", content=answer.question, payload={}))
        session.add(
            Message(
                thread_id=answer.thread_id,
                role="assistant",
                content=answer.text,
                payload={**answer.model_dump(mode="json"), REPLAY_KEY: replay_record(session, answer)},
            )
        )
        for step, prov in zip(answer.trace, _provenance_per_step(answer), strict=False):
            session.add(
                ToolRun(
                    thread_id=answer.thread_id,
                    tool=step.tool[:_TOOL_NAME_CHARS],
                    inputs=step.args,
                    summary=step.summary,
                    ok=step.ok,
                    duration_s=step.duration_s,
                    provenance=prov,
                )
            )
        for art in answer.artifacts:
            if session.get(Artifact, art["id"]) is None:
                session.add(
                    Artifact(
                        id=art["id"],
                        kind=art["kind"],
                        media_type=art["media_type"],
                        title=art.get("title", ""),
                        path=art["path"],
                    )
                )


def _provenance_per_step(answer: Answer) -> list[dict[str, Any]]:
    # Provenance is listed for successful steps only; align it with the trace (failed steps get {}).
    provs = iter(answer.provenance)
    return [next(provs, {}) if step.ok else {} for step in answer.trace]


def thread_record(db: Database, thread_id: str) -> dict[str, Any] | None:
    """A thread with its messages (answers carry their structured payload), or None."""
    with db.session() as session:
        thread = session.get(Thread, thread_id)
        if thread is None:
            return None
        messages = session.scalars(select(Message).where(Message.thread_id == thread_id).order_by(Message.id)).all()
        return {
            "id": thread.id,
            "title": thread.title,
            "created_at": thread.created_at.isoformat(),
            "messages": [
                {"role": m.role, "content": m.content, "payload": m.payload, "created_at": m.created_at.isoformat()}
                for m in messages
            ],
        }


def list_threads(db: Database, *, limit: int = 50) -> list[dict[str, Any]]:
    """Most recent threads first."""
    with db.session() as session:
        rows = session.scalars(select(Thread).order_by(Thread.updated_at.desc()).limit(limit)).all()
        return [{"id": t.id, "title": t.title, "updated_at": t.updated_at.isoformat()} for t in rows]
