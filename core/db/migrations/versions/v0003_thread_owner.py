"""Threads belong to a principal: ``threads.owner`` (the API key id that started the thread).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the nullable ``owner`` column (existing threads keep NULL: they belong to ``anonymous``).

    A database built by ``create_all`` from newer models, then adopted at the baseline, may have it already.
    """
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("threads")}
    indexes = {i["name"] for i in inspector.get_indexes("threads")}
    with op.batch_alter_table("threads") as batch:
        if "owner" not in columns:
            batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        if "ix_threads_owner" not in indexes:
            batch.create_index("ix_threads_owner", ["owner"])


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("threads") as batch:
        batch.drop_index("ix_threads_owner")
        batch.drop_column("owner")
