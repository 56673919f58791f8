"""Test data builders: valid aggregates in a known state, with random ids."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

from domain import Order, OrderLine, Payment, PaymentStatus, Provider

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def lines(*specs: tuple[str, int, int]) -> list[OrderLine]:
    """(sku, quantity, unit_amount) triples; vendor is fixed."""
    return [OrderLine(sku, quantity, unit, "vendor-1") for sku, quantity, unit in specs]


def new_order(
    order_id: UUID | None = None,
    provider: str = Provider.STRIPE,
    order_lines: list[OrderLine] | None = None,
    currency: str = "USD",
    customer_id: str = "customer-1",
    actor: str = "unknown",
) -> Order:
    order_id = order_id or uuid4()
    return Order.place(
        order_id=order_id,
        customer_id=customer_id,
        lines=lines(("SKU-A", 2, 1500), ("SKU-B", 1, 1000)) if order_lines is None else order_lines,
        currency=currency,
        payment_id=Payment.id_for(order_id),
        provider=provider,
        expires_at=EXPIRES,
        request_fingerprint="fp-1",
        actor=actor,
    )


def payment_for(order: Order) -> Payment:
    return Payment.initiate(order.id, order.provider, order.amount, order.currency)


def paid_pair() -> tuple[Order, Payment]:
    """A confirmed order with its succeeded payment (amount 4000 USD minor units)."""
    order = new_order()
    payment = payment_for(order)
    payment.record_provider_order("pi_1", "pi_1", "secret_1")
    payment.record_capture("pi_1", payment.amount, payment.currency, "evt_1")
    order.confirm_payment(payment.id, "pi_1", order.provider)
    return order, payment


# mypy keeps an attribute such as ``payment.status`` narrowed to what an earlier assert saw, even
# across the method calls that change it; reading it through a function gives its declared type.


def status_of(payment: Payment) -> PaymentStatus:
    """The payment's status, read afresh."""
    return payment.status


def failure_reason_of(payment: Payment) -> str | None:
    """The payment's failure reason, read afresh."""
    return payment.failure_reason
