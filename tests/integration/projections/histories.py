"""Histories written by saving aggregates directly, as the application would, and also as it
never would (a payment saved before its order): what the projections must cope with.

Not a shop: use cases are driven through tests/integration/shop.py; these are log fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from application.application import CheckoutApplication
from domain import Order, OrderLine, Payment, Product, Stock

FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


class Histories:
    """Two products in stock; each order is one save of order, payment and stock."""

    skus = ("SKU-A", "SKU-B")

    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app
        self.products = {
            "SKU-A": Product.register("SKU-A", "Alpha", "vendor-a", 1500, "USD"),
            "SKU-B": Product.register("SKU-B", "Beta", "vendor-b", 1000, "USD"),
        }
        self.stock = {sku: Stock.create(sku, 100_000) for sku in self.skus}
        app.save(*self.products.values(), *self.stock.values())

    def place(
        self,
        customer_id: str = "customer-1",
        provider: str = "stripe",
        expires_at: datetime = FAR_FUTURE,
        payment_first: bool = False,
    ) -> tuple[Order, Payment]:
        """Order 2 x SKU-A + 1 x SKU-B (4000 USD minor units)."""
        order_id = uuid4()
        lines = [
            OrderLine("SKU-A", 2, 1500, "vendor-a"),
            OrderLine("SKU-B", 1, 1000, "vendor-b"),
        ]
        order = Order.place(
            order_id,
            customer_id,
            lines,
            "USD",
            Payment.id_for(order_id),
            provider,
            expires_at,
            request_fingerprint="fp",
        )
        payment = Payment.initiate(order_id, provider, order.amount, "USD")
        for line in lines:
            self.stock[line.sku].reserve(order_id, line.quantity)
        if payment_first:  # the log order the views must not depend on
            self.app.save(payment)
            self.app.save(order, *self.stock.values())
        else:
            self.app.save(order, payment, *self.stock.values())
        return order, payment

    def open_provider_order(self, payment: Payment) -> None:
        if payment.provider == "stripe":
            payment.record_provider_order(
                "pi_" + _tag(payment.id),
                "pi_" + _tag(payment.id),
                client_secret="pi_secret_" + _tag(payment.id),
            )
        else:
            payment.record_provider_order("order_" + _tag(payment.id), key_id="rzp_test_key")
        self.app.save(payment)

    def pay(self, order: Order, payment: Payment) -> None:
        gateway_payment_id = payment.gateway_payment_id or "pay_" + _tag(payment.id)
        payment.record_capture(
            gateway_payment_id,
            payment.amount,
            payment.currency,
            provider_event_id="evt_" + _tag(payment.id),
        )
        order.confirm_payment(payment.id, gateway_payment_id, order.provider)
        for sku in self.skus:
            self.stock[sku].commit(order.id, order.quantities[sku])
        self.app.save(order, payment, *self.stock.values())

    def cancel(self, order: Order, reason: str = "customer") -> None:
        order.cancel(reason)
        for sku in self.skus:
            self.stock[sku].release(order.id, order.quantities[sku], reason)
        self.app.save(order, *self.stock.values())

    def refund(self, order: Order, payment: Payment, amount: int) -> str:
        refund_id = "re_" + uuid4().hex[:8]
        payment.request_refund(refund_id, amount)
        self.app.save(payment)
        payment.complete_refund(refund_id, "gw_" + refund_id)
        order.record_refund(amount)
        self.app.save(order, payment)
        return refund_id

    def paid_order(self, customer_id: str = "customer-1") -> tuple[Order, Payment]:
        order, payment = self.place(customer_id)
        self.open_provider_order(payment)
        self.pay(order, payment)
        return order, payment


def _tag(identifier: UUID) -> str:
    return identifier.hex[:12]


def expired_by(delta: timedelta) -> datetime:
    return datetime.now(UTC) - delta
