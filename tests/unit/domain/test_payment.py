"""Payment lifecycle up to capture; refunds are in test_payment_refunds."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4, uuid5

import pytest

from domain import (
    CHECKOUT_NAMESPACE,
    Capture,
    InvalidAmount,
    InvalidTransition,
    Money,
    Payment,
    PaymentStatus,
    UnknownCurrency,
    UnknownProvider,
)
from tests.unit.domain.builders import failure_reason_of, status_of


def processing() -> Payment:
    return Payment.initiate(uuid4(), "stripe", 4000, "usd")


def pending() -> Payment:
    payment = processing()
    payment.record_provider_order("pi_1", "pi_1", "pi_1_secret", None)
    return payment


def failed() -> Payment:
    payment = pending()
    payment.fail_attempt("card_declined", "ch_1")
    return payment


def succeeded() -> Payment:
    payment = pending()
    payment.record_capture("pi_1", payment.amount, payment.currency, "evt_1")
    return payment


def test_id_is_derived_from_the_order_id() -> None:
    order_id = uuid4()
    payment = Payment.initiate(order_id, "razorpay", 100, "INR")
    assert (
        payment.id == Payment.id_for(order_id) == uuid5(CHECKOUT_NAMESPACE, f"payment:{order_id}")
    )
    assert payment.order_id == order_id


def test_initiate_starts_processing_with_nothing_known() -> None:
    payment = processing()
    assert payment.status is PaymentStatus.PROCESSING
    assert payment.money == Money.of(4000, "USD")
    assert (payment.gateway_order_id, payment.gateway_payment_id, payment.client_secret) == (
        None,
        None,
        None,
    )
    assert (payment.key_id, payment.failure_reason) == (None, None)
    assert (
        payment.attempts,
        payment.refunds,
        payment.refunded_amount,
        payment.captured_amount,
    ) == ([], {}, 0, 0)


def test_status_values_are_the_contract_strings() -> None:
    assert [s.value for s in PaymentStatus] == [
        "processing",
        "pending",
        "authorized",
        "succeeded",
        "failed",
        "partially_refunded",
        "refunded",
        "canceled",
    ]


@pytest.mark.parametrize("amount", [0, -1, 1.5, True])
def test_initiate_refuses_non_positive_amounts(amount: int) -> None:
    with pytest.raises(InvalidAmount):
        Payment.initiate(uuid4(), "stripe", amount, "USD")


def test_initiate_refuses_unknown_provider_and_currency() -> None:
    with pytest.raises(UnknownProvider):
        Payment.initiate(uuid4(), "paypal", 1, "USD")
    with pytest.raises(UnknownCurrency):
        Payment.initiate(uuid4(), "stripe", 1, "ZZZ")


def test_provider_order_created_makes_it_payable() -> None:
    payment = processing()
    payment.record_provider_order("order_1", key_id="rzp_test_key")
    assert payment.status is PaymentStatus.PENDING
    assert (payment.gateway_order_id, payment.key_id, payment.gateway_payment_id) == (
        "order_1",
        "rzp_test_key",
        None,
    )


def test_success_captures_the_amount() -> None:
    payment = succeeded()
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.captured_amount == 4000
    assert payment.is_captured
    assert payment.attempts == [
        {"gateway_payment_id": "pi_1", "outcome": "succeeded", "reason": None}
    ]


def test_success_straight_from_processing_is_accepted() -> None:
    payment = processing()
    assert payment.record_capture("pay_1", payment.amount, payment.currency) is Capture.RECORDED
    assert payment.status is PaymentStatus.SUCCEEDED


def test_a_customer_can_retry_after_a_decline() -> None:
    payment = failed()
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "card_declined"
    assert payment.fail_attempt("insufficient_funds", "ch_2") is True
    assert payment.record_capture("pi_1", payment.amount, payment.currency) is Capture.RECORDED
    assert status_of(payment) is PaymentStatus.SUCCEEDED
    assert failure_reason_of(payment) is None
    assert [a["outcome"] for a in payment.attempts] == ["failed", "failed", "succeeded"]


def test_duplicate_success_notice_is_a_no_op() -> None:
    payment = succeeded()
    version = payment.version
    assert (
        payment.record_capture("pi_1", payment.amount, payment.currency, "evt_2")
        is Capture.ALREADY_RECORDED
    )
    assert payment.version == version


def test_late_failure_never_undoes_a_success() -> None:
    payment = succeeded()
    version = payment.version
    assert payment.fail_attempt("card_declined", "pi_1") is False
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.failure_reason is None
    assert payment.version == version


def test_late_failure_after_a_refund_is_also_ignored() -> None:
    payment = succeeded()
    payment.request_refund("r1", 4000)
    payment.complete_refund("r1", "re_1")
    assert payment.fail_attempt("late") is False
    assert payment.status is PaymentStatus.REFUNDED


def test_creation_failure_is_permanent_failure() -> None:
    payment = processing()
    payment.fail_creation("invalid currency for account")
    assert payment.status is PaymentStatus.FAILED
    assert payment.failure_reason == "invalid currency for account"


ILLEGAL = [
    (pending, "provider_order"),
    (failed, "provider_order"),
    (succeeded, "provider_order"),
    (pending, "creation_failed"),
    (succeeded, "creation_failed"),
    (processing, "refund"),
    (pending, "refund"),
    (failed, "refund"),
]


@pytest.mark.parametrize(("build", "action"), ILLEGAL)
def test_illegal_transitions_raise(build: Callable[[], Payment], action: str) -> None:
    payment = build()
    before = (payment.version, payment.status)
    commands: dict[str, Callable[[], object]] = {
        "provider_order": lambda: payment.record_provider_order("order_2"),
        "creation_failed": lambda: payment.fail_creation("nope"),
        "refund": lambda: payment.request_refund("r1", 1),
    }
    with pytest.raises(InvalidTransition):
        commands[action]()
    assert (payment.version, payment.status) == before
