"""A customer's side of a purchase, for tests of what the worker does with a provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from application.application import CheckoutApplication
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import PaymentGateway
from application.provider_calls import ProviderCalls
from domain import Order, Payment
from tests.fakes import FakeGateway

# Two mugs (2500 USD minor units) through Stripe; two chai (39800 INR) through Razorpay.
CARTS = {"stripe": CartItem("MUG", 2), "razorpay": CartItem("CHAI", 2)}

# What the worker runs, built with just these gateways configured.
ProviderCallsFor = Callable[[Mapping[str, PaymentGateway]], ProviderCalls]


@dataclass(frozen=True)
class Purchases:
    """Alice's orders, the worker's provider calls for them, and the fake providers she pays."""

    app: CheckoutApplication
    checkout: Checkout
    orders: OrderLifecycle
    payments: PaymentOutcomes
    calls: ProviderCalls
    gateways: Mapping[str, FakeGateway]

    def place(self, provider: str = "stripe") -> Placed:
        return self.checkout(CheckoutRequest("alice", (CARTS[provider],), provider))

    def opened(self, provider: str = "stripe") -> Placed:
        """Placed, and the worker has opened the provider object the customer pays."""
        placed = self.place(provider)
        self.calls.open_order(placed.payment.id)
        return placed

    def paid(self, provider: str = "stripe") -> Placed:
        """Opened, paid at the provider, and its webhook recorded."""
        placed = self.opened(provider)
        self.pay(placed)
        return placed

    def pay(self, placed: Placed) -> str:
        """The customer pays the provider object the worker opened, and its webhook arrives."""
        payment = self.payment(placed)
        assert payment.gateway_order_id is not None, "the worker has not opened the order yet"
        charge = self.gateways[payment.provider.value].pay(payment.gateway_order_id)
        self.payments.succeeded(
            payment.id, charge, payment.amount, payment.currency, f"evt_{charge}"
        )
        return charge

    def cancel(self, placed: Placed) -> None:
        """The customer cancels the order."""
        self.orders.cancel(placed.order.id, "changed my mind")

    def payment(self, placed: Placed) -> Payment:
        return self.app.load(Payment, placed.payment.id)

    def order(self, placed: Placed) -> Order:
        return self.app.load(Order, placed.order.id)

    def provider_object(self, placed: Placed) -> str:
        """The intent (stripe) or order (razorpay) the worker recorded for the payment."""
        gateway_order_id = self.payment(placed).gateway_order_id
        assert gateway_order_id is not None
        return gateway_order_id

    def captured(self, placed: Placed) -> str:
        """The captured charge the payment records: what a refund pays back from."""
        gateway_payment_id = self.payment(placed).gateway_payment_id
        assert gateway_payment_id is not None
        return gateway_payment_id

    @contextmanager
    def recording_nothing(self) -> Iterator[None]:
        """The block appends no event to the application's log."""
        head = self.app.head_position()
        yield
        assert self.app.head_position() == head
