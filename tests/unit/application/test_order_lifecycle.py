from __future__ import annotations

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.errors import OrderNotFound
from application.orders import EXPIRED, OrderLifecycle
from application.payments import PaymentOutcomes
from domain import InvalidTransition, OrderStatus, PaymentStatus, RefundStatus, Stock

from .conftest import FrozenClock


def place(checkout: Checkout, quantity: int = 2, customer: str = "alice") -> Placed:
    return checkout(CheckoutRequest(customer, (CartItem("MUG", quantity),), "razorpay"))


def available(app: CheckoutApplication) -> int:
    return app.load(Stock, Stock.id_for("MUG")).available


def test_cancel_releases_stock(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, orders: OrderLifecycle
) -> None:
    placed = place(checkout)
    assert available(app) == 3
    ended = orders.cancel(placed.order.id, "changed my mind", "alice")
    assert ended.order.status is OrderStatus.CANCELLED
    assert ended.position == app.head_position()
    assert available(app) == 5


def test_only_the_owner_can_cancel(
    catalog: Catalog, checkout: Checkout, orders: OrderLifecycle
) -> None:
    placed = place(checkout)
    with pytest.raises(OrderNotFound):
        orders.cancel(placed.order.id, "not mine", "mallory")


def test_cancel_twice_is_refused(
    catalog: Catalog, checkout: Checkout, orders: OrderLifecycle
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "once", "alice")
    with pytest.raises(InvalidTransition):
        orders.cancel(placed.order.id, "twice", "alice")


def test_expiry_waits_for_the_payment_window(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    clock: FrozenClock,
) -> None:
    placed = place(checkout)
    assert orders.expire(placed.order.id, clock.now()) is None
    clock.advance(30 * 60)
    ended = orders.expire(placed.order.id, clock.now())
    assert ended is not None
    assert ended.order.cancel_reason == EXPIRED
    assert available(app) == 5


def test_success_confirms_the_order_and_commits_stock(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    payments.provider_order_created(placed.payment.id, "order_abc", key_id="rzp_test_x")
    outcome = payments.succeeded(
        placed.payment.id, "pay_123", placed.payment.amount, placed.payment.currency, "evt_1"
    )
    assert outcome.changed
    order = app.load(type(placed.order), placed.order.id)
    assert order.status is OrderStatus.PAYMENT_CONFIRMED
    stock = app.load(Stock, Stock.id_for("MUG"))
    assert (stock.on_hand, stock.available) == (3, 3)
    assert not payments.succeeded(
        placed.payment.id, "pay_123", placed.payment.amount, placed.payment.currency, "evt_1"
    ).changed


def test_a_late_failure_never_undoes_a_success(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    payments.succeeded(placed.payment.id, "pay_1", placed.payment.amount, placed.payment.currency)
    assert not payments.attempt_failed(placed.payment.id, "card_declined", "pay_0").changed
    payment = app.load(type(placed.payment), placed.payment.id)
    assert payment.status is PaymentStatus.SUCCEEDED


def test_a_decline_leaves_the_order_open_for_retry(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    payments.attempt_failed(placed.payment.id, "card_declined", "pay_0")
    payment = app.load(type(placed.payment), placed.payment.id)
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "card_declined"
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.PENDING_PAYMENT
    payments.succeeded(placed.payment.id, "pay_1", placed.payment.amount, placed.payment.currency)
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.PAYMENT_CONFIRMED


def test_success_after_cancel_is_refunded_automatically(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    payments: PaymentOutcomes,
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "too slow", "alice")
    outcome = payments.succeeded(
        placed.payment.id, "pay_late", placed.payment.amount, placed.payment.currency
    )
    assert outcome.refund_requested == "late-success:pay_late"
    payment = app.load(type(placed.payment), placed.payment.id)
    assert payment.refunds[outcome.refund_requested]["status"] == RefundStatus.PENDING
    assert payment.refunds[outcome.refund_requested]["amount"] == placed.order.amount
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.CANCELLED
    assert available(app) == 5


def test_cancel_and_expiry_end_the_payment_as_canceled_with_the_reason(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    clock: FrozenClock,
) -> None:
    cancelled = place(checkout, 1)
    orders.cancel(cancelled.order.id, "changed my mind", "alice")
    payment = app.load(type(cancelled.payment), cancelled.payment.id)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.CANCELED, "changed my mind")

    expired = place(checkout, 1)
    clock.advance(30 * 60)
    orders.expire(expired.order.id, clock.now())
    payment = app.load(type(expired.payment), expired.payment.id)
    assert (payment.status, payment.failure_reason) == (PaymentStatus.CANCELED, EXPIRED)


def test_a_capture_of_the_wrong_amount_confirms_nothing_and_is_refunded(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    head = app.head_position()

    outcome = payments.succeeded(placed.payment.id, "pay_cheap", 1, placed.payment.currency)

    assert outcome.changed
    assert outcome.refund_requested == "mismatch:pay_cheap"
    assert outcome.extra is not None
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.PENDING_PAYMENT
    assert available(app) == 3, "the reservation still stands: nothing was committed"
    payment = app.load(type(placed.payment), placed.payment.id)
    assert payment.status is PaymentStatus.PROCESSING
    assert payment.refunds["mismatch:pay_cheap"]["charge"] == "pay_cheap"
    assert app.head_position() == head + 2  # the extra charge and its refund, nothing else


def test_a_second_capture_is_refunded_against_its_own_charge(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    amount, currency = placed.payment.amount, placed.payment.currency
    payments.succeeded(placed.payment.id, "pay_1", amount, currency)

    outcome = payments.succeeded(placed.payment.id, "pay_2", amount, currency)
    again = payments.succeeded(placed.payment.id, "pay_2", amount, currency)

    assert outcome.refund_requested == "duplicate:pay_2"
    assert not again.changed
    payment = app.load(type(placed.payment), placed.payment.id)
    assert payment.gateway_payment_id == "pay_1"
    assert payment.refunded_charge("duplicate:pay_2") == ("pay_2", currency)
    assert app.load(type(placed.order), placed.order.id).status is OrderStatus.PAYMENT_CONFIRMED
