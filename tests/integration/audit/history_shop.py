"""A paid, partially refunded order, and the moments between its steps (adr/0015)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain import Order
from entrypoints.bootstrap import Container
from projections.runner import ProjectionRunner
from projections.stock_movements import StockMovements
from tests.integration.shop import Shop

REFUND_REASON = "one mug arrived broken"
REFUND_ACTOR = "admin:ann"
REFUND_AMOUNT = 1250


@dataclass(frozen=True)
class RefundedOrder:
    order_id: UUID
    payment_id: UUID
    gateway_payment_id: str
    refund_id: str
    paid_at: datetime  # after the payment was confirmed, before the refund was asked


def refunded_order(container: Container, shop: Shop) -> RefundedOrder:
    """Placed, paid, then partly refunded with a reason; the stock index caught up."""
    placed = shop.place()
    gateway_payment_id = shop.pay(placed)
    paid = shop.order(placed)
    assert paid.confirmed_at is not None
    # The last moment before the refund: what the order and the payment said once paid.
    paid_at = max(paid.modified_on, shop.payment(placed).modified_on)
    requested = container.refunds.request(
        placed.order.id, REFUND_AMOUNT, REFUND_REASON, REFUND_ACTOR, f"key-{uuid.uuid4().hex}"
    )
    container.refunds.succeeded(placed.payment.id, requested.refund_id, "re_test_1")
    assert shop.app.load(Order, placed.order.id).refunded_total == REFUND_AMOUNT
    ProjectionRunner(container.app, container.db, StockMovements()).catch_up()
    return RefundedOrder(
        placed.order.id, placed.payment.id, gateway_payment_id, requested.refund_id, paid_at
    )
