"""An index for a customer's own orders, newest first (GET /orders).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A plain CREATE INDEX, not CONCURRENTLY: every revision runs in the one transaction that
holds the migration lock (projections.migrations). It blocks the order view's projector
(not the API's reads) while PostgreSQL builds it, which takes seconds on millions of rows.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS, like 0001 and 0002: a database the create_all code made may have it.
    op.create_index(
        "ix_order_view_customer_recent",
        "order_view",
        ["customer_id", "created_at", "order_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_order_view_customer_recent", table_name="order_view", if_exists=True)
