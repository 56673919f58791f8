"""The worker's refund call, driven against the in-memory gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from application.application import CheckoutApplication
from application.checkout import Checkout, Placed
from application.payments import PaymentOutcomes
from application.ports import (
    PaymentGateway,
    PermanentProviderError,
    ProviderNotConfigured,
    ProviderRefundRequest,
    ProviderRefundStatus,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from application.refunds import Refunds
from domain import Order, OrderStatus, Payment, PaymentStatus, RefundStatus
from tests.fakes import FakeGateway
from tests.unit.application.purchases import pay, place

pytestmark = pytest.mark.usefixtures("catalog")


@pytest.fixture
def refunds(app: CheckoutApplication) -> Refunds:
    return Refunds(app)


@pytest.fixture
def paid(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
) -> Placed:
    """Two mugs, 2500 USD, paid through Stripe."""
    placed = place(checkout)
    provider_calls.open_order(placed.payment.id)
    pay(app, payments, stripe, placed)
    return placed


def payment_of(app: CheckoutApplication, placed: Placed) -> Payment:
    return app.load(Payment, placed.payment.id)


def asked(refunds: Refunds, placed: Placed, amount: int = 1000) -> str:
    return refunds.request(placed.order.id, amount, "damaged", "admin:test", "key-1").refund_id


def test_a_requested_refund_is_paid_back_and_recorded(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)

    note = provider_calls.refund(paid.payment.id, refund_id)

    intent = payment_of(app, paid).gateway_payment_id
    assert intent is not None
    [request] = stripe.calls_of("refund")
    assert request == ProviderRefundRequest(paid.payment.id, refund_id, intent, 1000, "USD")
    [gateway_refund_id] = stripe.refunds_of(intent)
    assert note == f"refund {gateway_refund_id} succeeded"
    entry = payment_of(app, paid).refunds[refund_id]
    assert (entry["status"], entry["gateway_refund_id"]) == (
        RefundStatus.SUCCEEDED,
        gateway_refund_id,
    )
    order = app.load(Order, paid.order.id)
    assert (order.status, order.refunded_total) == (OrderStatus.PARTIALLY_REFUNDED, 1000)


def test_a_refund_already_paid_back_calls_the_provider_no_more(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)
    provider_calls.refund(paid.payment.id, refund_id)
    head = app.head_position()

    again = provider_calls.refund(paid.payment.id, refund_id)

    assert again == "nothing to do: refund is succeeded"
    assert len(stripe.calls_of("refund")) == 1
    assert app.head_position() == head


def test_a_lost_answer_is_retried_and_refunds_once(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)
    stripe.lose_next_answer("refund")

    with pytest.raises(TransientProviderError):
        provider_calls.refund(paid.payment.id, refund_id)
    assert payment_of(app, paid).refunds[refund_id]["status"] == RefundStatus.PENDING
    provider_calls.refund(paid.payment.id, refund_id)

    intent = payment_of(app, paid).gateway_payment_id
    assert intent is not None
    [made] = stripe.refunds_of(intent)
    assert payment_of(app, paid).refunds[refund_id]["gateway_refund_id"] == made
    assert stripe.charges[intent].refunded == 1000


def test_an_outage_leaves_the_refund_pending_for_a_retry(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)
    stripe.fail_next("refund", TransientProviderError("stripe answered 503"))
    head = app.head_position()

    with pytest.raises(TransientProviderError):
        provider_calls.refund(paid.payment.id, refund_id)

    assert app.head_position() == head
    assert payment_of(app, paid).refunds[refund_id]["status"] == RefundStatus.PENDING


def test_a_refusal_fails_the_refund_and_gives_the_amount_back(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)
    assert payment_of(app, paid).refundable == 1500
    stripe.fail_next("refund", PermanentProviderError("charge_disputed"))

    with pytest.raises(PermanentProviderError):
        provider_calls.refund(paid.payment.id, refund_id)

    payment = payment_of(app, paid)
    entry = payment.refunds[refund_id]
    assert (entry["status"], entry["failure_reason"]) == (RefundStatus.FAILED, "charge_disputed")
    assert payment.refundable == 2500
    assert provider_calls.refund(paid.payment.id, refund_id) == "nothing to do: refund is failed"


def test_more_than_the_provider_holds_is_refused_and_recorded(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    """The provider's own bound: money given back at its dashboard is gone from the charge."""
    intent = payment_of(app, paid).gateway_payment_id
    assert intent is not None
    stripe.charges[intent].refunded = 2000  # refunded at the dashboard; no webhook yet
    refund_id = asked(refunds, paid)

    with pytest.raises(PermanentProviderError, match="exceeds"):
        provider_calls.refund(paid.payment.id, refund_id)

    assert payment_of(app, paid).refunds[refund_id]["status"] == RefundStatus.FAILED
    assert stripe.refunds_of(intent) == []


def test_a_pending_answer_waits_for_the_webhook(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    stripe.refund_status = ProviderRefundStatus.PENDING
    refund_id = asked(refunds, paid)
    head = app.head_position()

    note = provider_calls.refund(paid.payment.id, refund_id)

    assert note.endswith(" pending")
    assert app.head_position() == head
    assert payment_of(app, paid).refunds[refund_id]["status"] == RefundStatus.PENDING


def test_a_declined_refund_is_recorded_failed(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls: ProviderCalls,
    stripe: FakeGateway,
    paid: Placed,
) -> None:
    stripe.refund_status = ProviderRefundStatus.FAILED
    refund_id = asked(refunds, paid)

    note = provider_calls.refund(paid.payment.id, refund_id)

    assert note.endswith(" failed")
    entry = payment_of(app, paid).refunds[refund_id]
    assert (entry["status"], entry["failure_reason"]) == (
        RefundStatus.FAILED,
        "the provider declined the refund",
    )
    assert payment_of(app, paid).status is PaymentStatus.SUCCEEDED


def test_an_unknown_refund_is_nothing_to_do(
    provider_calls: ProviderCalls, stripe: FakeGateway, paid: Placed
) -> None:
    assert provider_calls.refund(paid.payment.id, "no-such-refund") == (
        "nothing to do: refund is unknown"
    )
    assert stripe.calls_of("refund") == []


def test_a_second_charge_is_refunded_from_that_charge(
    app: CheckoutApplication,
    checkout: Checkout,
    payments: PaymentOutcomes,
    provider_calls: ProviderCalls,
    razorpay: FakeGateway,
) -> None:
    """Razorpay orders stay payable: a customer who pays twice gets the second back."""
    placed = place(checkout, "razorpay")
    provider_calls.open_order(placed.payment.id)
    first = pay(app, payments, razorpay, placed)
    second = pay(app, payments, razorpay, placed)
    [refund_id] = payment_of(app, placed).refunds

    note = provider_calls.refund(placed.payment.id, refund_id)

    [refunded] = razorpay.refunds_of(second)
    assert note == f"refund {refunded} succeeded"
    assert razorpay.refunds_of(first) == []
    payment = payment_of(app, placed)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.SUCCEEDED, 0)
    assert app.load(Order, placed.order.id).status is OrderStatus.PAYMENT_CONFIRMED


def test_a_refund_through_an_unconfigured_provider_waits(
    app: CheckoutApplication,
    refunds: Refunds,
    provider_calls_for: Callable[[Mapping[str, PaymentGateway]], ProviderCalls],
    razorpay: FakeGateway,
    paid: Placed,
) -> None:
    refund_id = asked(refunds, paid)
    razorpay_only = provider_calls_for({razorpay.provider: razorpay})

    with pytest.raises(ProviderNotConfigured):
        razorpay_only.refund(paid.payment.id, refund_id)

    assert payment_of(app, paid).refunds[refund_id]["status"] == RefundStatus.PENDING
