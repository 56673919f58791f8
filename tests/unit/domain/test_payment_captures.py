"""Captures are checked: only the payment's own amount and currency, once, pays the order.

Everything else that arrives (a second charge, a charge of the wrong amount or currency, a
capture after the order ended) is recorded, never dropped, and goes back to the customer.
"""

from __future__ import annotations

import pytest

from domain import Capture, InvalidTransition, Payment, PaymentStatus, RefundKind
from domain.payment import SYSTEM_ACTOR
from tests.unit.domain.test_payment import failed, pending, processing, succeeded


def test_the_payments_own_amount_and_currency_is_its_capture() -> None:
    payment = pending()
    assert payment.record_capture("pi_1", 4000, "usd", "evt_1") is Capture.RECORDED
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.captured_amount == 4000
    assert payment.extra_charges == {}


@pytest.mark.parametrize(
    ("amount", "currency"), [(499, "USD"), (3999, "USD"), (4001, "USD"), (4000, "EUR")]
)
def test_a_charge_of_another_amount_or_currency_confirms_nothing_and_goes_back(
    amount: int, currency: str
) -> None:
    payment = pending()
    assert payment.record_capture("pay_cheap", amount, currency, "evt_1") is Capture.EXTRA
    assert payment.status is PaymentStatus.PENDING  # the customer can still pay properly
    assert payment.captured_amount == 0
    extra = payment.extra_charges["pay_cheap"]
    assert (extra["amount"], extra["currency"], extra["cause"]) == (amount, currency, "mismatch")
    refund = payment.refunds[extra["refund_id"]]
    assert refund["kind"] == RefundKind.MISMATCH
    assert (refund["amount"], refund["charge"], refund["currency"]) == (
        amount,
        "pay_cheap",
        currency,
    )
    assert refund["actor"] == SYSTEM_ACTOR
    assert payment.refundable == 0  # nothing of the order's own to refund


def test_a_second_charge_of_the_right_amount_is_a_duplicate_and_goes_back() -> None:
    payment = succeeded()
    assert payment.record_capture("cs_pi_2", 4000, "USD", "evt_2") is Capture.EXTRA
    assert payment.gateway_payment_id == "pi_1"
    assert payment.status is PaymentStatus.SUCCEEDED
    refund_id = payment.extra_charges["cs_pi_2"]["refund_id"]
    assert refund_id == "duplicate:cs_pi_2"
    assert payment.refunds[refund_id]["kind"] == RefundKind.DUPLICATE
    # The order's own capture stays fully refundable: the extra refund is not taken from it.
    assert payment.refundable == 4000


def test_repeated_notices_of_a_known_charge_record_nothing() -> None:
    payment = succeeded()
    payment.record_capture("pay_dup", 4000, "USD")
    version = payment.version
    assert payment.record_capture("pay_dup", 4000, "USD") is Capture.ALREADY_RECORDED
    assert payment.record_capture("pi_1", 4000, "USD") is Capture.ALREADY_RECORDED
    assert payment.version == version


def test_completing_an_extra_refund_leaves_the_payment_paid() -> None:
    payment = succeeded()
    payment.record_capture("pay_dup", 4000, "USD")
    assert payment.complete_refund("duplicate:pay_dup", "re_dup") is True
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.refunded_amount == 0
    assert payment.refunded_charge("duplicate:pay_dup") == ("pay_dup", "USD")


def test_a_canceled_payment_still_records_a_late_capture() -> None:
    payment = pending()
    payment.cancel("customer cancelled")
    assert payment.record_capture("pi_1", 4000, "USD") is Capture.RECORDED
    assert payment.status is PaymentStatus.SUCCEEDED


def test_cancel_ends_an_unpaid_payment_with_its_reason() -> None:
    for build in (processing, pending, failed):
        payment = build()
        assert payment.cancel("payment window expired") is True
        assert payment.status is PaymentStatus.CANCELED
        assert payment.failure_reason == "payment window expired"
        assert payment.cancel("again") is False


def test_a_captured_payment_cannot_be_canceled() -> None:
    with pytest.raises(InvalidTransition):
        succeeded().cancel("too late")


def test_failures_after_cancel_or_for_a_charge_already_failed_record_nothing() -> None:
    payment = pending()
    assert payment.fail_attempt("card_declined", "pay_1") is True
    version = payment.version
    assert payment.fail_attempt("card_declined", "pay_1") is False  # a replay
    assert payment.version == version
    payment.cancel("expired")
    assert payment.fail_attempt("card_declined", "pay_2") is False
    assert payment.status is PaymentStatus.CANCELED


def test_refunds_record_reason_actor_and_fingerprint() -> None:
    payment = succeeded()
    payment.request_refund("r1", 1000, reason="damaged", actor="admin:ops", fingerprint="f1")
    entry = payment.refunds["r1"]
    assert (entry["reason"], entry["actor"], entry["fingerprint"]) == ("damaged", "admin:ops", "f1")
    assert payment.request_refund("r1", 1000, fingerprint="f1") is False


def test_an_external_refund_of_the_own_capture_counts_and_is_recorded_once() -> None:
    payment = succeeded()
    assert payment.record_external_refund("re_dash", 1500, "pi_1", "evt_r") is True
    assert payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert payment.refunded_amount == 1500
    assert payment.refundable == 2500
    assert payment.refunds["external:re_dash"]["kind"] == RefundKind.EXTERNAL
    assert payment.record_external_refund("re_dash", 1500, "pi_1") is False


def test_an_external_refund_of_a_charge_not_ours_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        succeeded().record_external_refund("re_x", 100, "pi_someone_else")


def test_one_open_session_at_a_time() -> None:
    payment = pending()
    assert payment.open_session(now=1000) is None
    assert payment.record_session("cs_1", "https://pay/cs_1", expires_at=5000) is True
    assert payment.record_session("cs_1", "https://pay/cs_1", expires_at=5000) is False
    found = payment.open_session(now=1000)
    assert found is not None
    assert found[0] == "cs_1"
    assert payment.open_session(now=4950) is None  # about to expire: not handed out again
    assert payment.close_session("cs_1", "expired") is True
    assert payment.open_session(now=1000) is None
    assert payment.close_session("cs_1", "expired") is False


def test_disputes_open_and_close() -> None:
    payment = succeeded()
    assert payment.open_dispute("dp_1", 4000, "usd", "fraudulent", "pi_1") is True
    assert payment.open_dispute("dp_1", 4000, "usd", "fraudulent", "pi_1") is False
    assert payment.close_dispute("dp_1", "lost") is True
    assert payment.disputes["dp_1"]["status"] == "lost"
    assert payment.close_dispute("dp_1", "lost") is False


def test_v1_refund_requests_upcast_with_an_unknown_actor() -> None:
    state = {"refund_id": "0b7a", "amount": 100}
    Payment.RefundRequested.upcast_v1_v2(state)
    assert state["actor"] == "unknown"
    assert state["kind"] == "requested"
    late = {"refund_id": "late-success:pi_9", "amount": 100}
    Payment.RefundRequested.upcast_v1_v2(late)
    assert (late["actor"], late["kind"]) == ("system", "late")
