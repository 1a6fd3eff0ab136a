"""The queryable record of conversations (SQLAlchemy): threads, messages, tool runs, artifacts.

The LangGraph checkpointer owns resumable graph state; this module owns what people and services query.
It is written from one place, after each turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from geovigie.agent.answer import Answer
from geovigie.core.db.models import Artifact, Message, Thread, ToolRun
from geovigie.core.db.store import Database

_TOOL_NAME_CHARS = 64
"""Length of ``ToolRun.tool``: a model may call a long made-up name, and PostgreSQL enforces lengths."""


ANONYMOUS_OWNER = "anonymous"
"""Owner of threads started without a key (keyless loopback server) and of threads made before owners existed."""


def owner_of(thread: Thread) -> str:
    """The principal a thread belongs to."""
    return thread.owner or ANONYMOUS_OWNER


def thread_owner(db: Database, thread_id: str) -> str | None:
    """Who owns a thread, or None when it does not exist."""
    with db.session() as session:
        thread = session.get(Thread, thread_id)
        return owner_of(thread) if thread is not None else None


def begin_turn(db: Database, *, thread_id: str, question: str, owner: str) -> int:
    """Record a question as soon as its turn starts (status ``running``): a turn killed mid-way leaves a trace.

    Returns:
        The question's message id, which :func:`record_turn` marks ``answered``.
    """
    with db.session() as session:
        thread = session.get(Thread, thread_id)
        if thread is None:
            session.add(Thread(id=thread_id, title=question[:200], owner=owner))
            session.flush()
        message = Message(thread_id=thread_id, role="user", content=question, payload={"status": "running"})
        session.add(message)
        session.flush()
        return int(message.id)


def end_turn(db: Database, message_id: int, status: str) -> None:
    """Set the status of a started turn's question (``failed``; ``answered`` is set by :func:`record_turn`)."""
    with db.session() as session:
        message = session.get(Message, message_id)
        if message is not None:
            message.payload = {**(message.payload or {}), "status": status}


def mark_interrupted(db: Database) -> int:
    """At start-up: questions still ``running`` belong to a process that died; mark them ``interrupted``."""
    with db.session() as session:
        rows = session.scalars(select(Message).where(Message.role == "user")).all()
        stale = [m for m in rows if (m.payload or {}).get("status") == "running"]
        for message in stale:
            message.payload = {**message.payload, "status": "interrupted"}
        return len(stale)


def record_turn(db: Database, answer: Answer, *, owner: str = ANONYMOUS_OWNER, question_id: int | None = None) -> None:
    """Persist a finished turn: the question, the answer with its payload, tool runs and artifacts.

    Args:
        db: The database.
        answer: The finished turn.
        owner: Principal of a thread created here.
        question_id: The question's message from :func:`begin_turn`, marked ``answered`` (else one is added).
    """
    # Lazy: the bundle package reads threads through this module. The replay record keeps what replay needs.
    from geovigie.serving.bundle.record import REPLAY_KEY, replay_record

    with db.session() as session:
        thread = session.get(Thread, answer.thread_id)
        if thread is None:
            thread = Thread(id=answer.thread_id, title=answer.question[:200], owner=owner)
            session.add(thread)
        thread.updated_at = datetime.now(UTC)
        started = session.get(Message, question_id) if question_id is not None else None
        if started is not None:
            started.payload = {**(started.payload or {}), "status": "answered"}
        else:
            session.add(
                Message(
                    thread_id=answer.thread_id, role="user", content=answer.question, payload={"status": "answered"}
                )
            )
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


def thread_record(db: Database, thread_id: str, *, owner: str | None = None) -> dict[str, Any] | None:
    """A thread with its messages (answers carry their structured payload), or None.

    Args:
        db: The database.
        thread_id: The thread.
        owner: When given, a thread of another principal is None too (its existence is not revealed).
    """
    with db.session() as session:
        thread = session.get(Thread, thread_id)
        if thread is None or (owner is not None and owner_of(thread) != owner):
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


def list_threads(db: Database, *, limit: int = 50, owner: str | None = None) -> list[dict[str, Any]]:
    """Most recent threads first (only ``owner``'s when given)."""
    stmt = select(Thread).order_by(Thread.updated_at.desc()).limit(limit)
    if owner == ANONYMOUS_OWNER:
        stmt = stmt.where(or_(Thread.owner == owner, Thread.owner.is_(None)))
    elif owner is not None:
        stmt = stmt.where(Thread.owner == owner)
    with db.session() as session:
        rows = session.scalars(stmt).all()
        return [{"id": t.id, "title": t.title, "updated_at": t.updated_at.isoformat()} for t in rows]
