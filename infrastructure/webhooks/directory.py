"""Payments by provider order id, from the payment status view (a query, not a replay)."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from projections.schema import payment_status_view


class PaymentStatusDirectory:
    def __init__(self, db: Engine) -> None:
        self.db = db

    def payment_for_gateway_order(self, gateway_order_id: str) -> UUID | None:
        c = payment_status_view.c
        query = sa.select(c.payment_id).where(c.gateway_order_id == gateway_order_id).limit(1)
        with self.db.connect() as conn:
            found: UUID | None = conn.execute(query).scalar()
        return found

    def payment_for_charge(self, gateway_payment_id: str) -> UUID | None:
        c = payment_status_view.c
        query = (
            sa.select(c.payment_id)
            .where(
                sa.or_(
                    c.gateway_order_id == gateway_payment_id,
                    c.gateway_payment_id == gateway_payment_id,
                )
            )
            .limit(1)
        )
        with self.db.connect() as conn:
            found: UUID | None = conn.execute(query).scalar()
        return found
