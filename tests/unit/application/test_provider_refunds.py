"""The worker's refund call, driven against the in-memory gateway."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from application.checkout import Placed
from application.ports import (
    PermanentProviderError,
    ProviderNotConfigured,
    ProviderRefundRequest,
    ProviderRefundStatus,
    TransientProviderError,
)
from application.refunds import Refunds
from domain import OrderStatus, PaymentStatus, RefundEntry, RefundStatus
from tests.fakes import FakeGateway
from tests.unit.application.purchases import ProviderCallsFor, Purchases


@dataclass(frozen=True)
class AskedRefund:
    """A refund an admin asked for; ``pay_back`` is the worker's call to the provider."""

    purchases: Purchases
    placed: Placed
    id: str

    def pay_back(self) -> str:
        return self.purchases.calls.refund(self.placed.payment.id, self.id)

    @property
    def entry(self) -> RefundEntry:
        return self.purchases.payment(self.placed).refunds[self.id]


@pytest.fixture
def paid(purchases: Purchases) -> Placed:
    """Two mugs, 2500 USD, paid through Stripe."""
    return purchases.paid()


@pytest.fixture
def refund(purchases: Purchases, paid: Placed) -> AskedRefund:
    """1000 of the 2500 asked back, not yet paid back."""
    asked = Refunds(purchases.app).request(paid.order.id, 1000, "damaged", "admin:test", "key-1")
    return AskedRefund(purchases, paid, asked.refund_id)


def test_a_requested_refund_is_paid_back_and_recorded(
    purchases: Purchases, stripe: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    note = refund.pay_back()

    intent = purchases.captured(paid)
    [request] = stripe.calls_of("refund")
    assert request == ProviderRefundRequest(paid.payment.id, refund.id, intent, 1000, "USD")
    [gateway_refund_id] = stripe.refunds_of(intent)
    assert note == f"refund {gateway_refund_id} succeeded"
    assert (refund.entry["status"], refund.entry["gateway_refund_id"]) == (
        RefundStatus.SUCCEEDED,
        gateway_refund_id,
    )
    order = purchases.order(paid)
    assert (order.status, order.refunded_total) == (OrderStatus.PARTIALLY_REFUNDED, 1000)


def test_a_refund_already_paid_back_calls_the_provider_no_more(
    purchases: Purchases, stripe: FakeGateway, refund: AskedRefund
) -> None:
    refund.pay_back()

    with purchases.recording_nothing():
        again = refund.pay_back()

    assert again == "nothing to do: refund is succeeded"
    assert len(stripe.calls_of("refund")) == 1


def test_a_lost_answer_is_retried_and_refunds_once(
    purchases: Purchases, stripe: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    stripe.lose_next_answer("refund")

    with pytest.raises(TransientProviderError):
        refund.pay_back()
    assert refund.entry["status"] == RefundStatus.PENDING
    refund.pay_back()

    intent = purchases.captured(paid)
    [made] = stripe.refunds_of(intent)
    assert refund.entry["gateway_refund_id"] == made
    assert stripe.charges[intent].refunded == 1000


def test_an_outage_leaves_the_refund_pending_for_a_retry(
    purchases: Purchases, stripe: FakeGateway, refund: AskedRefund
) -> None:
    stripe.fail_next("refund", TransientProviderError("stripe answered 503"))

    with purchases.recording_nothing(), pytest.raises(TransientProviderError):
        refund.pay_back()

    assert refund.entry["status"] == RefundStatus.PENDING


def test_a_refusal_fails_the_refund_and_gives_the_amount_back(
    purchases: Purchases, stripe: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    assert purchases.payment(paid).refundable == 1500
    stripe.fail_next("refund", PermanentProviderError("charge_disputed"))

    with pytest.raises(PermanentProviderError):
        refund.pay_back()

    assert (refund.entry["status"], refund.entry["failure_reason"]) == (
        RefundStatus.FAILED,
        "charge_disputed",
    )
    assert purchases.payment(paid).refundable == 2500
    assert refund.pay_back() == "nothing to do: refund is failed"


def test_more_than_the_provider_holds_is_refused_and_recorded(
    purchases: Purchases, stripe: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    """The provider's own bound: money given back at its dashboard is gone from the charge."""
    intent = purchases.captured(paid)
    stripe.charges[intent].refunded = 2000  # refunded at the dashboard; no webhook yet

    with pytest.raises(PermanentProviderError, match="exceeds"):
        refund.pay_back()

    assert refund.entry["status"] == RefundStatus.FAILED
    assert stripe.refunds_of(intent) == []


def test_a_pending_answer_waits_for_the_webhook(
    purchases: Purchases, stripe: FakeGateway, refund: AskedRefund
) -> None:
    stripe.refund_status = ProviderRefundStatus.PENDING

    with purchases.recording_nothing():
        note = refund.pay_back()

    assert note.endswith(" pending")
    assert refund.entry["status"] == RefundStatus.PENDING


def test_a_declined_refund_is_recorded_failed(
    purchases: Purchases, stripe: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    stripe.refund_status = ProviderRefundStatus.FAILED

    note = refund.pay_back()

    assert note.endswith(" failed")
    assert (refund.entry["status"], refund.entry["failure_reason"]) == (
        RefundStatus.FAILED,
        "the provider declined the refund",
    )
    assert purchases.payment(paid).status is PaymentStatus.SUCCEEDED


def test_an_unknown_refund_is_nothing_to_do(
    purchases: Purchases, stripe: FakeGateway, paid: Placed
) -> None:
    assert purchases.calls.refund(paid.payment.id, "no-such-refund") == (
        "nothing to do: refund is unknown"
    )
    assert stripe.calls_of("refund") == []


def test_a_second_charge_is_refunded_from_that_charge(
    purchases: Purchases, razorpay: FakeGateway
) -> None:
    """Razorpay orders stay payable: a customer who pays twice gets the second back."""
    placed = purchases.opened("razorpay")
    first = purchases.pay(placed)
    second = purchases.pay(placed)
    [refund_id] = purchases.payment(placed).refunds

    note = purchases.calls.refund(placed.payment.id, refund_id)

    [refunded] = razorpay.refunds_of(second)
    assert note == f"refund {refunded} succeeded"
    assert razorpay.refunds_of(first) == []
    payment = purchases.payment(placed)
    assert (payment.status, payment.refunded_amount) == (PaymentStatus.SUCCEEDED, 0)
    assert purchases.order(placed).status is OrderStatus.PAYMENT_CONFIRMED


def test_a_refund_through_an_unconfigured_provider_waits(
    provider_calls_for: ProviderCallsFor, razorpay: FakeGateway, paid: Placed, refund: AskedRefund
) -> None:
    razorpay_only = provider_calls_for({razorpay.provider: razorpay})

    with pytest.raises(ProviderNotConfigured):
        razorpay_only.refund(paid.payment.id, refund.id)

    assert refund.entry["status"] == RefundStatus.PENDING
