"""The audit trail: the event log's hash chain, stock movements by order, evidence.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

See adr/0015. New tables only; nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("notification_id", sa.BigInteger, autoincrement=False),
        sa.Column("originator_id", UUID(as_uuid=True), nullable=False),
        sa.Column("originator_version", sa.BigInteger, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        _timestamp("chained_at"),
        sa.PrimaryKeyConstraint("notification_id", name="pk_audit_chain"),
    )
    op.create_table(
        "order_stock_movements",
        sa.Column("order_id", UUID(as_uuid=True), nullable=False),
        sa.Column("notification_id", sa.BigInteger, nullable=False),
        sa.Column("stock_id", UUID(as_uuid=True), nullable=False),
        sa.Column("originator_version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("order_id", "notification_id", name="pk_order_stock_movements"),
    )
    op.create_table(
        "evidence",
        sa.Column("digest", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        _timestamp("recorded_at"),
        sa.PrimaryKeyConstraint("digest", name="pk_evidence"),
        sa.CheckConstraint("kind IN ('webhook', 'provider_call')", name="ck_evidence_kind"),
    )
    op.create_index("ix_evidence_recorded_at", "evidence", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_evidence_recorded_at", table_name="evidence")
    op.drop_table("evidence")
    op.drop_table("order_stock_movements")
    op.drop_table("audit_chain")
