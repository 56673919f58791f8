from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from domain import (
    EmptyCart,
    InvalidAmount,
    InvalidQuantity,
    InvalidTransition,
    Money,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMismatch,
    Provider,
    RefundExceedsCaptured,
    UnknownCurrency,
    UnknownProvider,
)
from tests.unit.domain.builders import EXPIRES, lines, new_order


def confirmed() -> Order:
    order = new_order()
    order.confirm_payment(order.payment_id, "pi_1", "stripe")
    return order


def cancelled() -> Order:
    order = new_order()
    order.cancel("customer")
    return order


def refunded() -> Order:
    order = confirmed()
    order.record_refund(order.amount)
    return order


def test_place_records_lines_and_amount() -> None:
    order_id = uuid4()
    order = new_order(order_id)
    assert order.id == order_id
    assert order.status is OrderStatus.PENDING_PAYMENT
    assert order.lines == (
        OrderLine("SKU-A", 2, 1500, "vendor-1"),
        OrderLine("SKU-B", 1, 1000, "vendor-1"),
    )
    assert order.amount == 4000
    assert order.total == Money.of(4000, "USD")
    assert order.payment_id == Payment.id_for(order_id)
    assert order.provider is Provider.STRIPE
    assert order.created_on == order.modified_on == order.updated_at
    (created,) = order.collect_events()
    assert isinstance(created, Order.Created)
    assert created.lines[0] == {
        "sku": "SKU-A",
        "quantity": 2,
        "unit_amount": 1500,
        "vendor_id": "vendor-1",
    }


def test_quantities_merge_lines_per_sku() -> None:
    order = new_order(order_lines=lines(("A", 1, 10), ("B", 2, 10), ("A", 3, 10)))
    assert order.quantities == {"A": 4, "B": 2}


def test_empty_cart_is_refused() -> None:
    with pytest.raises(EmptyCart):
        new_order(order_lines=[])


def test_line_quantities_must_be_positive() -> None:
    with pytest.raises(InvalidQuantity):
        OrderLine("A", 0, 100, "v")
    with pytest.raises(InvalidAmount):
        OrderLine("A", 1, -1, "v")


def test_zero_total_is_refused() -> None:
    with pytest.raises(InvalidAmount):
        new_order(order_lines=lines(("A", 1, 0)))


def test_unknown_currency_and_provider_are_refused() -> None:
    with pytest.raises(UnknownCurrency):
        new_order(currency="XXX1")
    with pytest.raises(UnknownProvider):
        new_order(provider="paypal")


def test_naive_expiry_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Order.place(
            uuid4(), "c", lines(("A", 1, 1)), "USD", uuid4(), "stripe", datetime(2030, 1, 1)
        )


def test_is_expired_only_while_pending() -> None:
    order = new_order()
    assert not order.is_expired(EXPIRES - timedelta(seconds=1))
    assert order.is_expired(EXPIRES)
    assert not confirmed().is_expired(EXPIRES + timedelta(days=1))


def test_confirm_payment() -> None:
    order = new_order(provider="razorpay")
    order.confirm_payment(order.payment_id, "pay_123", "razorpay")
    assert order.status is OrderStatus.PAYMENT_CONFIRMED
    assert order.gateway_payment_id == "pay_123"
    event = order.collect_events()[-1]
    assert isinstance(event, Order.Confirmed)
    assert order.confirmed_at == event.timestamp == event.confirmed_at


def test_confirm_payment_checks_the_payment_belongs_to_the_order() -> None:
    order = new_order()
    with pytest.raises(PaymentMismatch):
        order.confirm_payment(uuid4(), "pi_1", "stripe")
    with pytest.raises(PaymentMismatch):
        order.confirm_payment(order.payment_id, "pi_1", "razorpay")
    assert order.status is OrderStatus.PENDING_PAYMENT


def test_cancel_records_the_reason() -> None:
    order = cancelled()
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "customer"
    assert order.cancelled_at == order.modified_on


def test_partial_then_full_refund() -> None:
    order = confirmed()
    order.record_refund(1000)
    assert (order.status, order.refunded_total) == (OrderStatus.PARTIALLY_REFUNDED, 1000)
    order.record_refund(3000)
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, 4000)
    event = order.collect_events()[-1]
    assert isinstance(event, Order.Refunded)
    assert (event.amount, event.refunded_total) == (3000, 4000)


def test_refund_beyond_the_amount_is_refused() -> None:
    order = confirmed()
    order.record_refund(3999)
    with pytest.raises(RefundExceedsCaptured):
        order.record_refund(2)
    assert order.refunded_total == 3999


@pytest.mark.parametrize("amount", [0, -5, 1.0])
def test_refund_amount_must_be_positive(amount: int) -> None:
    with pytest.raises(InvalidAmount):
        confirmed().record_refund(amount)


ILLEGAL = [
    (confirmed, "confirm"),
    (cancelled, "confirm"),
    (refunded, "confirm"),
    (confirmed, "cancel"),
    (cancelled, "cancel"),
    (refunded, "cancel"),
    (new_order, "refund"),
    (cancelled, "refund"),
    (refunded, "refund"),
]


@pytest.mark.parametrize(("build", "action"), ILLEGAL)
def test_illegal_transitions_raise(build: Callable[[], Order], action: str) -> None:
    order = build()
    before = (order.version, order.status)
    commands = {
        "confirm": lambda: order.confirm_payment(order.payment_id, "pi_2", "stripe"),
        "cancel": lambda: order.cancel("too late"),
        "refund": lambda: order.record_refund(1),
    }
    with pytest.raises(InvalidTransition):
        commands[action]()
    assert (order.version, order.status) == before
