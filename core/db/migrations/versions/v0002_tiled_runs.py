"""Tiled runs and their tile states (long Dask runs resumed or reported after a restart).

Every statement is ``IF NOT EXISTS``, as in the baseline: a database whose tables were made by ``create_all``
upgrades in place.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``tiled_runs`` and ``tiled_run_tiles``."""
    op.create_table(
        "tiled_runs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total_tiles", sa.Integer(), nullable=False),
        sa.Column("done_tiles", sa.Integer(), nullable=False),
        sa.Column("failed_tiles", sa.Integer(), nullable=False),
        sa.Column("pixels", sa.BigInteger(), nullable=False),
        sa.Column("work_dir", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_index(op.f("ix_tiled_runs_state"), "tiled_runs", ["state"], unique=False, if_not_exists=True)
    op.create_table(
        "tiled_run_tiles",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["tiled_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "index"),
        if_not_exists=True,
    )


def downgrade() -> None:
    """Drop both tables (tiles first)."""
    op.drop_table("tiled_run_tiles")
    op.drop_index(op.f("ix_tiled_runs_state"), table_name="tiled_runs")
    op.drop_table("tiled_runs")
