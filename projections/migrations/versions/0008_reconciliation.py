"""Reconciliation: its runs, and discrepancies and resolutions in the review queue.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

See adr/0028. ``capture_review_view`` gains a ``status`` (existing extra charges are
``refunding``, existing foreign captures ``open``), the discrepancy it is about, the repair
made, and who resolved it, why and when. ``reconciliation_runs`` keeps each run's summary.
IF NOT EXISTS: databases the create_all code made have them already.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_REVIEW_COLUMNS = ("status", "discrepancy_id", "repair", "resolved_by", "resolution", "resolved_at")


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    review = "capture_review_view"
    op.add_column(
        review,
        sa.Column("status", sa.Text, nullable=False, server_default="refunding"),
        if_not_exists=True,
    )
    op.execute("UPDATE capture_review_view SET status = 'open' WHERE kind = 'foreign'")
    for name in ("discrepancy_id", "repair", "resolved_by", "resolution"):
        op.add_column(review, sa.Column(name, sa.Text), if_not_exists=True)
    op.add_column(review, _timestamp("resolved_at", nullable=True), if_not_exists=True)
    op.create_table(
        "reconciliation_runs",
        sa.Column("run_id", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        _timestamp("window_start"),
        _timestamp("window_end"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("compared", sa.Integer, nullable=False, server_default="0"),
        sa.Column("discrepancies", JSONB, nullable=False, server_default="{}"),
        sa.Column("repairs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        _timestamp("started_at"),
        _timestamp("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("run_id", name="pk_reconciliation_runs"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_reconciliation_runs_recent",
        "reconciliation_runs",
        ["started_at", "run_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_reconciliation_runs_recent", "reconciliation_runs")
    op.drop_table("reconciliation_runs")
    for name in _REVIEW_COLUMNS:
        op.drop_column("capture_review_view", name)
