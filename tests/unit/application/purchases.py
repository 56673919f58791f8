"""A customer's side of a purchase, for tests of what the worker does with a provider."""

from __future__ import annotations

from application.application import CheckoutApplication
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.payments import PaymentOutcomes
from domain import Payment
from tests.fakes import FakeGateway

# Two mugs (2500 USD minor units) through Stripe; two chai (39800 INR) through Razorpay.
CARTS = {"stripe": CartItem("MUG", 2), "razorpay": CartItem("CHAI", 2)}


def place(checkout: Checkout, provider: str = "stripe") -> Placed:
    return checkout(CheckoutRequest("alice", (CARTS[provider],), provider))


def pay(
    app: CheckoutApplication, payments: PaymentOutcomes, gateway: FakeGateway, placed: Placed
) -> str:
    """The customer pays the provider object the worker opened, and its webhook arrives."""
    payment = app.load(Payment, placed.payment.id)
    assert payment.gateway_order_id is not None, "the worker has not opened the order yet"
    charge = gateway.pay(payment.gateway_order_id)
    payments.succeeded(payment.id, charge, payment.amount, payment.currency, f"evt_{charge}")
    return charge
