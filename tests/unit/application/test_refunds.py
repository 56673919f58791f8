from __future__ import annotations

from uuid import uuid4

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.errors import IdempotencyConflict, OrderNotFound
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from application.refunds import Refunds
from domain import (
    InvalidTransition,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    RefundExceedsCaptured,
    RefundStatus,
    UnknownRefund,
)


@pytest.fixture
def refunds(app: CheckoutApplication) -> Refunds:
    return Refunds(app)


def placed(checkout: Checkout) -> Placed:
    """An order of 2 mugs: 2500 USD minor units."""
    return checkout(CheckoutRequest("alice", (CartItem("MUG", 2),), "stripe"))


@pytest.fixture
def paid(catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes) -> Placed:
    order = placed(checkout)
    payments.provider_order_created(order.payment.id, "pi_1", "pi_1", client_secret="s")
    payments.succeeded(
        order.payment.id, "pi_1", order.payment.amount, order.payment.currency, "evt_1"
    )
    return order


def payment_of(app: CheckoutApplication, order: Placed) -> Payment:
    return app.load(Payment, order.payment.id)


def order_of(app: CheckoutApplication, order: Placed) -> Order:
    return app.load(Order, order.order.id)


def test_a_request_promises_the_amount_and_changes_no_status(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    requested = refunds.request(paid.order.id, 1000, "damaged", "admin:test", "key-damaged")

    assert requested.amount == 1000
    assert requested.position == app.head_position()
    payment = payment_of(app, paid)
    assert payment.refunds[requested.refund_id]["status"] == RefundStatus.PENDING
    assert payment.refundable == 1500
    assert payment.status is PaymentStatus.SUCCEEDED
    assert order_of(app, paid).status is OrderStatus.PAYMENT_CONFIRMED


def test_each_key_gets_its_own_refund_id(refunds: Refunds, paid: Placed) -> None:
    first = refunds.request(paid.order.id, 100, "one", "admin:test", "key-one")
    second = refunds.request(paid.order.id, 100, "two", "admin:test", "key-two")
    assert first.refund_id != second.refund_id


def test_success_refunds_payment_and_order_together(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    requested = refunds.request(paid.order.id, 1000, "damaged", "admin:test", "key-damaged")

    outcome = refunds.succeeded(paid.payment.id, requested.refund_id, "re_1")

    assert outcome.changed
    assert outcome.position == app.head_position()
    payment, order = payment_of(app, paid), order_of(app, paid)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.PARTIALLY_REFUNDED, 1000)
    assert (order.status, order.refunded_total) == (OrderStatus.PARTIALLY_REFUNDED, 1000)
    # The two aggregates were saved in one transaction: the last two events of the log.
    events = app.recorder.select_notifications(start=outcome.position - 1, limit=2)
    assert {n.originator_id for n in events} == {paid.payment.id, paid.order.id}


def test_a_repeated_success_changes_nothing(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    requested = refunds.request(paid.order.id, 1000, "damaged", "admin:test", "key-damaged")
    refunds.succeeded(paid.payment.id, requested.refund_id, "re_1")
    head = app.head_position()

    outcome = refunds.succeeded(paid.payment.id, requested.refund_id, "re_1")

    assert (outcome.changed, outcome.position) == (False, None)
    assert app.head_position() == head
    assert order_of(app, paid).refunded_total == 1000


def test_everything_refundable_by_default_ends_refunded(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    partial = refunds.request(paid.order.id, 500, "first", "admin:test", "key-first")
    refunds.succeeded(paid.payment.id, partial.refund_id, "re_1")

    rest = refunds.request(paid.order.id, None, "the rest", "admin:test", "key-the rest")
    refunds.succeeded(paid.payment.id, rest.refund_id, "re_2")

    assert rest.amount == 2000
    assert payment_of(app, paid).status is PaymentStatus.REFUNDED
    assert order_of(app, paid).status is OrderStatus.REFUNDED
    with pytest.raises(InvalidTransition):
        refunds.request(paid.order.id, None, "again", "admin:test", "key-again")


def test_over_refund_is_refused_counting_pending_refunds(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    with pytest.raises(RefundExceedsCaptured):
        refunds.request(paid.order.id, 2501, "too much", "admin:test", "key-too much")
    refunds.request(paid.order.id, 2000, "most of it", "admin:test", "key-most of it")
    head = app.head_position()

    with pytest.raises(RefundExceedsCaptured) as refused:
        refunds.request(
            paid.order.id, 501, "more than is left", "admin:test", "key-more than is left"
        )

    assert refused.value.refundable == 500
    assert app.head_position() == head


def test_nothing_left_when_everything_is_pending(refunds: Refunds, paid: Placed) -> None:
    refunds.request(paid.order.id, None, "all of it", "admin:test", "key-all of it")
    with pytest.raises(RefundExceedsCaptured):
        refunds.request(
            paid.order.id, None, "all of it, again", "admin:test", "key-all of it, again"
        )


def test_a_failed_refund_makes_the_amount_refundable_again(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    requested = refunds.request(paid.order.id, 2500, "all", "admin:test", "key-all")

    assert refunds.failed(paid.payment.id, requested.refund_id, "insufficient balance").changed
    assert not refunds.failed(paid.payment.id, requested.refund_id, "again").changed

    payment = payment_of(app, paid)
    assert payment.refunds[requested.refund_id]["failure_reason"] == "insufficient balance"
    assert payment.refundable == 2500
    assert order_of(app, paid).status is OrderStatus.PAYMENT_CONFIRMED
    assert (
        refunds.request(paid.order.id, None, "try again", "admin:test", "key-try again").amount
        == 2500
    )


def test_a_failed_refund_cannot_succeed_later(refunds: Refunds, paid: Placed) -> None:
    requested = refunds.request(paid.order.id, 100, "x", "admin:test", "key-x")
    refunds.failed(paid.payment.id, requested.refund_id, "declined")
    with pytest.raises(InvalidTransition):
        refunds.succeeded(paid.payment.id, requested.refund_id, "re_1")


def test_an_unknown_refund_is_reported(refunds: Refunds, paid: Placed) -> None:
    with pytest.raises(UnknownRefund):
        refunds.succeeded(paid.payment.id, "no-such-refund", "re_1")


def test_only_paid_orders_are_refunded(
    catalog: Catalog, checkout: Checkout, refunds: Refunds, orders: OrderLifecycle
) -> None:
    unpaid = placed(checkout)
    with pytest.raises(InvalidTransition):
        refunds.request(unpaid.order.id, 100, "not paid", "admin:test", "key-not paid")
    orders.cancel(unpaid.order.id, "changed my mind", "alice")
    with pytest.raises(InvalidTransition):
        refunds.request(unpaid.order.id, None, "cancelled", "admin:test", "key-cancelled")
    with pytest.raises(OrderNotFound):
        refunds.request(uuid4(), 100, "no such order", "admin:test", "key-no such order")


def test_a_late_success_refund_completes_without_touching_the_cancelled_order(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    payments: PaymentOutcomes,
    refunds: Refunds,
) -> None:
    late = placed(checkout)
    orders.cancel(late.order.id, "too slow", "alice")
    refund_id = payments.succeeded(
        late.payment.id, "pi_late", late.payment.amount, late.payment.currency
    ).refund_requested
    assert refund_id is not None

    assert refunds.succeeded(late.payment.id, refund_id, "re_late").changed

    assert payment_of(app, late).status is PaymentStatus.REFUNDED
    order = order_of(app, late)
    assert (order.status, order.refunded_total) == (OrderStatus.CANCELLED, 0)


def test_the_same_key_and_body_refund_once_and_answer_the_first_refund(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    first = refunds.request(paid.order.id, 1000, "damaged", "admin:ann", "retry-me")
    again = refunds.request(paid.order.id, 1000, "damaged", "admin:bob", "retry-me")
    assert (again.refund_id, again.amount, again.replayed) == (first.refund_id, 1000, True)
    payment = payment_of(app, paid)
    assert list(payment.refunds) == [first.refund_id]
    entry = payment.refunds[first.refund_id]
    assert (entry["reason"], entry["actor"]) == ("damaged", "admin:ann")
    assert payment.refundable == 1500


def test_a_full_refund_retried_answers_the_refund_that_exists(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    # Nothing is left to refund once the first one is pending: a retry must still answer it.
    first = refunds.request(paid.order.id, None, "all", "admin:ann", "full")
    again = refunds.request(paid.order.id, None, "all", "admin:ann", "full")
    assert (again.refund_id, again.amount, again.replayed) == (first.refund_id, 2500, True)


def test_the_same_key_with_another_body_conflicts_and_records_nothing(
    app: CheckoutApplication, refunds: Refunds, paid: Placed
) -> None:
    refunds.request(paid.order.id, 1000, "damaged", "admin:ann", "k1")
    version = payment_of(app, paid).version
    with pytest.raises(IdempotencyConflict):
        refunds.request(paid.order.id, 900, "damaged", "admin:ann", "k1")
    with pytest.raises(IdempotencyConflict):
        refunds.request(paid.order.id, 1000, "another reason", "admin:ann", "k1")
    assert payment_of(app, paid).version == version
