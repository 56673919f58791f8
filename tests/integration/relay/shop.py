"""Drives the real use cases to produce the Order events the relay publishes."""

from __future__ import annotations

import uuid
from datetime import timedelta
from uuid import UUID

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.disputes import DisputeNotice, Disputes
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import SystemClock
from domain import Order


class Shop:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app
        Catalog(app).upsert(
            [
                CatalogEntry("MUG-1", "Mug", "vendor-mugs", 1250, "EUR", 10_000),
                CatalogEntry("TEE-1", "T-shirt", "vendor-tees", 1999, "EUR", 10_000),
            ]
        )
        self._checkout = Checkout(app, SystemClock(), timedelta(minutes=30))

    def place(self, customer_id: str | None = None) -> Placed:
        request = CheckoutRequest(
            customer_id or f"customer-{uuid.uuid4().hex[:8]}",
            (CartItem("MUG-1", 2), CartItem("TEE-1", 1)),
            "stripe",
        )
        return self._checkout(request)

    def pay(self, placed: Placed, gateway_payment_id: str | None = None) -> str:
        gateway_payment_id = gateway_payment_id or f"pi_{uuid.uuid4().hex[:16]}"
        PaymentOutcomes(self.app).succeeded(
            placed.payment.id, gateway_payment_id, placed.payment.amount, placed.payment.currency
        )
        return gateway_payment_id

    def paid_order(self) -> Order:
        placed = self.place()
        self.pay(placed)
        return self.app.load(Order, placed.order.id)

    def decline(self, placed: Placed) -> None:
        PaymentOutcomes(self.app).attempt_failed(placed.payment.id, "card_declined", "pi_declined")

    def cancel(self, placed: Placed, reason: str) -> None:
        OrderLifecycle(self.app).cancel(placed.order.id, reason)

    def refund(self, order_id: UUID, amount: int) -> Order:
        order = self.app.load(Order, order_id)
        order.record_refund(amount)
        self.app.save(order)
        return order

    def dispute(self, order: Order, dispute_id: str, status: str) -> None:
        notice = DisputeNotice(dispute_id, status, order.amount, order.currency, "fraudulent", None)
        Disputes(self.app).update(order.payment_id, notice)
