"""The shop the integration tests buy from: a catalog, the real use cases over it (as the
composition root wires them), and a clock the test moves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.application import CheckoutApplication
from application.catalog import CatalogEntry
from application.checkout import CartItem, CheckoutRequest, Placed
from application.disputes import DisputeNotice, Disputes
from domain import Order, Payment, Stock
from entrypoints.bootstrap import Container

TTL = timedelta(seconds=1800)  # the settings' default PAYMENT_TTL_SECONDS
# One product in each provider's usual currency, and a two-line EUR basket.
CATALOG = (
    CatalogEntry("MUG", "Mug", "vendor-a", 1250, "USD", 1000),
    CatalogEntry("CHAI", "Chai", "vendor-b", 19900, "INR", 1000),
    CatalogEntry("MUG-1", "Mug", "vendor-mugs", 1250, "EUR", 10_000),
    CatalogEntry("TEE-1", "T-shirt", "vendor-tees", 1999, "EUR", 10_000),
)
SKU_BY_PROVIDER = {"stripe": "MUG", "razorpay": "CHAI"}
BASKET = (CartItem("MUG-1", 2), CartItem("TEE-1", 1))


class SettableClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class Shop:
    """The catalog loaded, and what customers, providers and admins do to its orders."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.app: CheckoutApplication = container.app
        self.checkout = container.checkout
        container.catalog.upsert(list(CATALOG))

    # -- buying -------------------------------------------------------------------------

    def buy(self, provider: str, quantity: int = 2, customer: str = "alice") -> Placed:
        """``quantity`` of the product in ``provider``'s currency."""
        item = CartItem(SKU_BY_PROVIDER[provider], quantity)
        return self.checkout(CheckoutRequest(customer, (item,), provider))

    def place(self, customer_id: str | None = None) -> Placed:
        """The EUR basket, paid with Stripe: 2 x MUG-1 and 1 x TEE-1."""
        customer = customer_id or f"customer-{uuid.uuid4().hex[:8]}"
        return self.checkout(CheckoutRequest(customer, BASKET, "stripe"))

    # -- what the provider reports ------------------------------------------------------

    def pay(self, placed: Placed, gateway_payment_id: str | None = None) -> str:
        gateway_payment_id = gateway_payment_id or f"pi_{uuid.uuid4().hex[:16]}"
        self.container.payments.succeeded(
            placed.payment.id, gateway_payment_id, placed.payment.amount, placed.payment.currency
        )
        return gateway_payment_id

    def paid_order(self) -> Order:
        placed = self.place()
        self.pay(placed)
        return self.app.load(Order, placed.order.id)

    def decline(self, placed: Placed) -> None:
        self.container.payments.attempt_failed(placed.payment.id, "card_declined", "pi_declined")

    def dispute(self, order: Order, dispute_id: str, status: str) -> None:
        notice = DisputeNotice(dispute_id, status, order.amount, order.currency, "fraudulent", None)
        Disputes(self.app).update(order.payment_id, notice)

    # -- what the shop does -------------------------------------------------------------

    def cancel(self, placed: Placed, reason: str) -> None:
        self.container.orders.cancel(placed.order.id, reason)

    def refund(self, order_id: UUID, amount: int) -> Order:
        """The order's record of a refund, as the relay publishes it."""
        order = self.app.load(Order, order_id)
        order.record_refund(amount)
        self.app.save(order)
        return order

    # -- reading back -------------------------------------------------------------------

    def payment(self, placed: Placed) -> Payment:
        return self.app.load(Payment, placed.payment.id)

    def order(self, placed: Placed) -> Order:
        return self.app.load(Order, placed.order.id)

    def available(self, provider: str) -> int:
        return self.app.load(Stock, Stock.id_for(SKU_BY_PROVIDER[provider])).available
