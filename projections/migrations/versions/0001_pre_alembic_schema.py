"""The engine's tables as the create_all code made them before Alembic (commit acaba55).

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Every CREATE is IF NOT EXISTS: before Alembic each role created its own tables, so a
database from that time may hold any subset of these. A database holding all of them is
stamped at 0001 without running this (``projections.migrations``); one holding some gets
the rest here. Revisions after 0002 need no such care.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = (
    "order_view",
    "payment_status_view",
    "product_view",
    "projection_tracking",
    "provider_tasks",
    "webhook_inbox",
    "relay_position",
)


def _uuid(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, UUID(as_uuid=True), nullable=nullable)


def _timestamp(name: str, nullable: bool = False, now: bool = False) -> sa.Column[object]:
    default = sa.func.now() if now else None
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _text(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _index(
    name: str,
    table: str,
    *columns: str | sa.TextClause,
    unique: bool = False,
    where: str | None = None,
) -> None:
    condition = None if where is None else sa.text(where)
    op.create_index(
        name, table, list(columns), unique=unique, if_not_exists=True, postgresql_where=condition
    )


def _views() -> None:
    op.create_table(
        "order_view",
        _uuid("order_id", nullable=False),
        _text("customer_id", nullable=False),
        _text("status", nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        _uuid("payment_id", nullable=False),
        _text("provider", nullable=False),
        _text("payment_status"),
        _text("cancel_reason"),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("expires_at"),
        sa.Column("payment_refunds_pending", JSONB, nullable=False),
        sa.Column("payment_refunded_amount", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_order_view"),
        sa.UniqueConstraint("payment_id", name="uq_order_view_payment_id"),
        if_not_exists=True,
    )
    _index("ix_order_view_customer_id", "order_view", "customer_id")
    _index(
        "ix_order_view_expiry",
        "order_view",
        "expires_at",
        where="status = 'PENDING_PAYMENT'",
    )
    _index("ix_order_view_listing", "order_view", "status", "created_at", "order_id")
    _index("ix_order_view_recent", "order_view", "created_at", "order_id")

    op.create_table(
        "payment_status_view",
        _uuid("order_id", nullable=False),
        _uuid("payment_id", nullable=False),
        _text("customer_id"),
        _text("status", nullable=False),
        _text("provider", nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        _text("gateway_order_id"),
        _text("gateway_payment_id"),
        _text("client_secret"),
        _text("razorpay_key_id"),
        sa.Column("refunded_amount", sa.BigInteger, nullable=False),
        _text("failure_reason"),
        _timestamp("updated_at"),
        sa.Column("refunds_pending", JSONB, nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_payment_status_view"),
        sa.UniqueConstraint("payment_id", name="uq_payment_status_view_payment_id"),
        if_not_exists=True,
    )

    op.create_table(
        "product_view",
        _text("sku", nullable=False),
        _uuid("product_id"),
        _uuid("stock_id"),
        _text("name"),
        _text("vendor_id"),
        sa.Column("unit_amount", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("reservations", JSONB, nullable=False),
        _timestamp("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("sku", name="pk_product_view"),
        sa.UniqueConstraint("product_id", name="uq_product_view_product_id"),
        sa.UniqueConstraint("stock_id", name="uq_product_view_stock_id"),
        if_not_exists=True,
    )
    _index("ix_product_view_active", "product_view", "active", "sku")

    op.create_table(
        "projection_tracking",
        _text("name", nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("name", name="pk_projection_tracking"),
        if_not_exists=True,
    )


def _provider_tasks() -> None:
    op.create_table(
        "provider_tasks",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        _text("kind", nullable=False),
        _uuid("payment_id", nullable=False),
        _uuid("order_id"),
        _text("refund_id"),
        sa.Column("amount", sa.BigInteger),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _timestamp("next_attempt_at", now=True),
        _timestamp("lease_until", nullable=True),
        _text("last_error"),
        _timestamp("created_at", now=True),
        _timestamp("updated_at", now=True),
        sa.PrimaryKeyConstraint("id", name="pk_provider_tasks"),
        sa.CheckConstraint(
            "kind IN ('create_order', 'cancel', 'refund')", name="ck_provider_tasks_kind"
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'failed')", name="ck_provider_tasks_status"
        ),
        if_not_exists=True,
    )
    _index("ix_provider_tasks_payment", "provider_tasks", "payment_id")
    _index(
        "ix_provider_tasks_pending",
        "provider_tasks",
        "id",
        where="status = 'pending'",
    )
    # One task per call, whatever replays the log: the projection inserts ON CONFLICT DO NOTHING.
    _index(
        "uq_provider_tasks_call",
        "provider_tasks",
        "kind",
        "payment_id",
        sa.text("coalesce(refund_id, '')"),
        unique=True,
    )


def _webhook_inbox() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        _text("provider", nullable=False),
        _text("event_id", nullable=False),
        _text("event_type", nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        _timestamp("received_at", now=True),
        sa.Column("status", sa.Text, nullable=False, server_default="received"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        _timestamp("next_attempt_at", nullable=True),
        _timestamp("lease_until", nullable=True),
        _text("last_error"),
        _text("outcome"),
        _timestamp("processed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_inbox"),
        sa.UniqueConstraint("provider", "event_id", name="uq_webhook_inbox_provider_event_id"),
        sa.CheckConstraint(
            "status IN ('received', 'processed', 'ignored', 'failed')",
            name="ck_webhook_inbox_status",
        ),
        if_not_exists=True,
    )
    _index(
        "ix_webhook_inbox_due",
        "webhook_inbox",
        "next_attempt_at",
        where="status IN ('received', 'failed')",
    )


def _relay_position() -> None:
    op.create_table(
        "relay_position",
        _text("name", nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        _timestamp("updated_at", now=True),
        sa.PrimaryKeyConstraint("name", name="relay_position_pkey"),
        if_not_exists=True,
    )


def upgrade() -> None:
    _views()
    _provider_tasks()
    _webhook_inbox()
    _relay_position()


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
