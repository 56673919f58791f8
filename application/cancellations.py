"""A customer cancelling their unpaid order, answered from the command's own result."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.application import CheckoutApplication
from application.orders import OrderLifecycle
from domain import Order, Payment, actors

CUSTOMER_CANCELLED = "cancelled by customer"


@dataclass(frozen=True)
class Cancelled:
    order: Order
    payment: Payment
    position: int


class CustomerCancellations:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app
        self.orders = OrderLifecycle(app)

    def cancel(self, order_id: UUID, customer_id: str) -> Cancelled:
        """Cancel the customer's order and its payment; raises OrderNotFound for another
        customer's order, InvalidTransition unless it is unpaid."""
        actor = actors.customer(customer_id)  # the token's sub (api/routes/orders.py)
        ended = self.orders.cancel(order_id, CUSTOMER_CANCELLED, customer_id, actor)
        # The saved aggregates, not a view: the answer must not lag behind the write.
        payment = self.app.load(Payment, ended.order.payment_id)
        return Cancelled(ended.order, payment, ended.position)
