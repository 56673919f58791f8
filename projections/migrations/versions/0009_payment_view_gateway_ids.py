"""Indexes for the admin search by a provider's id (GET /admin/orders?gatewayRef=).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Support is handed a Stripe PaymentIntent (`pi_...`) or a Razorpay order or payment id
(`order_...`, `pay_...`) and asks which order it paid for. Without these the search reads
the whole payments view. A plain CREATE INDEX, as in 0003: every revision runs in the one
transaction that holds the migration lock; it blocks the payments view's projector (not the
API's reads) for the seconds PostgreSQL takes on millions of rows.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_payment_status_view_gateway_order",
        "payment_status_view",
        ["gateway_order_id"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_payment_status_view_gateway_payment",
        "payment_status_view",
        ["gateway_payment_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_payment_status_view_gateway_payment", table_name="payment_status_view", if_exists=True
    )
    op.drop_index(
        "ix_payment_status_view_gateway_order", table_name="payment_status_view", if_exists=True
    )
