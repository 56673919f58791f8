"""Refund and dispute ledgers on payments, capture reviews, follower dead letters, close_open.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

IF NOT EXISTS throughout: the create_all code of 2026-12-01, which ran before this
revision existed, may already have made all of it in a database stamped at 0001.
The new payment_status_view columns start as '{}' on existing rows; rebuild the view
(``checkout-engine projections rebuild payments``) to fill them from older events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KINDS_BEFORE = "'create_order', 'cancel', 'refund'"
_KINDS_AFTER = "'create_order', 'cancel', 'refund', 'close_open'"


def _ledger(name: str) -> sa.Column[object]:
    return sa.Column(name, JSONB, nullable=False, server_default="{}")


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _set_task_kinds(kinds: str) -> None:
    op.execute(
        "ALTER TABLE provider_tasks DROP CONSTRAINT IF EXISTS ck_provider_tasks_kind, "
        f"ADD CONSTRAINT ck_provider_tasks_kind CHECK (kind IN ({kinds}))"
    )


def upgrade() -> None:
    op.add_column("payment_status_view", _ledger("refunds"), if_not_exists=True)
    op.add_column("payment_status_view", _ledger("disputes"), if_not_exists=True)

    op.create_table(
        "capture_review_view",
        sa.Column("review_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("gateway_payment_id", sa.Text, nullable=False),
        sa.Column("gateway_order_id", sa.Text),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("payment_id", UUID(as_uuid=True)),
        sa.Column("order_id", UUID(as_uuid=True)),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("refund_id", sa.Text),
        sa.Column("refund_status", sa.Text),
        _timestamp("recorded_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("review_id", name="pk_capture_review_view"),
        if_not_exists=True,
    )
    op.create_index(
        "ix_capture_review_view_refund",
        "capture_review_view",
        ["payment_id", "refund_id"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_capture_review_view_recent",
        "capture_review_view",
        ["recorded_at", "review_id"],
        if_not_exists=True,
    )

    op.create_table(
        "follower_dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("follower", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("originator_id", UUID(as_uuid=True)),
        sa.Column("originator_version", sa.BigInteger),
        sa.Column("error", sa.Text, nullable=False),
        _timestamp("failed_at"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("resolution", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolution_reason", sa.Text),
        _timestamp("resolved_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_follower_dead_letters"),
        sa.UniqueConstraint(
            "follower", "position", name="uq_follower_dead_letters_follower_position"
        ),
        if_not_exists=True,
    )

    _set_task_kinds(_KINDS_AFTER)


def downgrade() -> None:
    # The code before 0002 has no executor for them, and the narrower check refuses them.
    op.execute("DELETE FROM provider_tasks WHERE kind = 'close_open'")
    _set_task_kinds(_KINDS_BEFORE)
    op.drop_table("follower_dead_letters")
    op.drop_table("capture_review_view")
    op.drop_column("payment_status_view", "disputes")
    op.drop_column("payment_status_view", "refunds")
