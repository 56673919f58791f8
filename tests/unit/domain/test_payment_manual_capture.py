"""Manual capture: an authorization is held, an operator captures (part of) it once, or it
ends with its order; only a capture of what the operator asked for pays the order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import (
    Authorization,
    AuthorizationMismatch,
    Capture,
    CaptureConflict,
    CaptureExceedsAuthorized,
    CaptureMethod,
    InvalidAmount,
    InvalidTransition,
    Order,
    OrderStatus,
    OutOfBounds,
    Payment,
    PaymentStatus,
    Provider,
    RefundExceedsCaptured,
)
from domain.actors import Origin
from tests.unit.domain.builders import new_order, status_of

ADMIN = "admin:ops"


def pending_capture(payment: Payment) -> str | None:
    """Read afresh (see builders.status_of)."""
    return payment.capture_pending


def order_status(order: Order) -> OrderStatus:
    return order.status


def manual(provider: str = Provider.STRIPE) -> Payment:
    """A manual-capture payment of 4000 USD whose provider order exists."""
    order = new_order(provider=provider)
    payment = Payment.initiate(
        order.id, provider, order.amount, order.currency, capture=CaptureMethod.MANUAL
    )
    payment.record_provider_order("pi_1" if provider == Provider.STRIPE else "order_1", "pi_1")
    return payment


def authorized(provider: str = Provider.STRIPE) -> Payment:
    payment = manual(provider)
    assert payment.record_authorization("pi_1", 4000, "usd") is Authorization.RECORDED
    return payment


def test_a_payment_captures_automatically_unless_asked() -> None:
    order = new_order()
    payment = Payment.initiate(order.id, order.provider, order.amount, order.currency)
    assert payment.capture_method is CaptureMethod.AUTOMATIC
    assert payment.record_authorization("pi_1", 4000, "USD") is Authorization.NOT_AWAITED
    assert payment.collect_events()[-1].__class__ is Payment.Initiated


def test_an_unknown_capture_method_is_refused() -> None:
    order = new_order()
    with pytest.raises(OutOfBounds):
        Payment.initiate(order.id, order.provider, order.amount, order.currency, capture="later")


def test_the_authorization_of_the_payments_amount_holds_it() -> None:
    payment = authorized()
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.authorized_amount == 4000
    assert payment.captured_amount == 0
    assert not payment.is_captured
    assert payment.record_authorization("pi_1", 4000, "USD") is Authorization.ALREADY_RECORDED


@pytest.mark.parametrize(("amount", "currency"), [(3999, "USD"), (4001, "USD"), (4000, "EUR")])
def test_an_authorization_of_another_amount_is_parked_unrecorded(
    amount: int, currency: str
) -> None:
    payment = manual()
    payment.collect_events()
    with pytest.raises(AuthorizationMismatch):
        payment.record_authorization("pi_1", amount, currency)
    assert payment.collect_events() == []
    assert status_of(payment) is PaymentStatus.PENDING


def test_a_second_authorization_lapses() -> None:
    payment = authorized(Provider.RAZORPAY)
    assert payment.record_authorization("pay_2", 4000, "USD") is Authorization.LAPSES
    assert payment.gateway_payment_id == "pi_1"


def test_a_late_failure_notice_does_not_undo_an_authorization() -> None:
    payment = authorized()
    assert payment.fail_attempt("card declined", "pi_other") is False
    assert status_of(payment) is PaymentStatus.AUTHORIZED


def test_a_partial_capture_pays_what_was_captured_and_refunds_stay_within_it() -> None:
    payment = authorized()
    assert payment.request_capture("cap-1", 2500, "one item out of stock", ADMIN, "fp")
    assert payment.capture_pending == "cap-1"
    assert payment.expected_capture == 2500
    assert payment.record_capture("pi_1", 2500, "USD", "evt_2") is Capture.RECORDED
    assert status_of(payment) is PaymentStatus.SUCCEEDED
    assert payment.captured_amount == 2500
    assert payment.captures["cap-1"]["status"] == "succeeded"
    assert pending_capture(payment) is None
    with pytest.raises(RefundExceedsCaptured):
        payment.request_refund("r1", 2501, reason="too much", actor=ADMIN)


def test_a_capture_of_other_than_asked_is_an_extra_charge_refunded() -> None:
    payment = authorized()
    payment.request_capture("cap-1", 2500, "partial", ADMIN, "fp")
    assert payment.record_capture("pi_x", 4000, "USD", "evt_2") is Capture.EXTRA
    assert status_of(payment) is PaymentStatus.AUTHORIZED
    assert payment.extra_charges["pi_x"]["cause"] == "mismatch"


def test_a_capture_with_no_request_must_be_the_whole_authorization() -> None:
    payment = authorized()  # captured in the provider's dashboard, say
    assert payment.record_capture("pi_1", 4000, "USD") is Capture.RECORDED
    assert payment.captured_amount == 4000


def test_capturing_twice_more_than_held_or_while_one_is_under_way_is_refused() -> None:
    payment = authorized()
    with pytest.raises(CaptureExceedsAuthorized):
        payment.request_capture("cap-0", 4001, "too much", ADMIN, "fp0")
    payment.request_capture("cap-1", None, "all of it", ADMIN, "fp1")
    assert payment.captures["cap-1"]["amount"] == 4000
    with pytest.raises(CaptureConflict):
        payment.request_capture("cap-2", 100, "another", ADMIN, "fp2")
    # The same request again (its key and body): nothing new.
    assert payment.request_capture("cap-1", None, "all of it", ADMIN, "fp1") is False
    with pytest.raises(CaptureConflict):
        payment.request_capture("cap-1", 100, "other body", ADMIN, "fp-other")
    payment.record_capture("pi_1", 4000, "USD")
    with pytest.raises(InvalidTransition):
        payment.request_capture("cap-3", None, "again", ADMIN, "fp3")


def test_razorpay_captures_only_the_whole_authorization() -> None:
    payment = authorized(Provider.RAZORPAY)
    with pytest.raises(CaptureExceedsAuthorized) as refused:
        payment.request_capture("cap-1", 3999, "partial", ADMIN, "fp")
    assert "whole" in str(refused.value)
    assert payment.request_capture("cap-1", 4000, "all", ADMIN, "fp")


def test_a_refused_capture_leaves_the_authorization_for_another_try() -> None:
    payment = authorized()
    payment.request_capture("cap-1", 4000, "all", ADMIN, "fp")
    assert payment.fail_capture("cap-1", "authorization expired", Origin.worker("d" * 64))
    assert payment.fail_capture("cap-1", "again") is False
    assert payment.captures["cap-1"]["failure_reason"] == "authorization expired"
    assert payment.capture_pending is None
    assert payment.request_capture("cap-2", 4000, "retry", ADMIN, "fp2")


def test_an_authorization_is_voided_by_cancelling_but_not_while_being_captured() -> None:
    payment = authorized()
    payment.request_capture("cap-1", 4000, "all", ADMIN, "fp")
    with pytest.raises(InvalidTransition):
        payment.cancel("void", ADMIN)
    payment.fail_capture("cap-1", "declined")
    assert payment.cancel("customer changed their mind", ADMIN, fingerprint="void-fp")
    assert status_of(payment) is PaymentStatus.CANCELED
    assert payment.cancel_fingerprint == "void-fp"
    assert payment.record_authorization("pi_2", 4000, "USD") is Authorization.LAPSES


def test_a_captured_payment_cannot_be_voided() -> None:
    payment = authorized()
    payment.record_capture("pi_1", 4000, "USD")
    with pytest.raises(InvalidTransition):
        payment.cancel("void", ADMIN)


def test_an_authorized_order_is_held_then_confirmed_with_the_amount_paid() -> None:
    order = new_order()
    hold = datetime.now(UTC) + timedelta(days=6)
    order.hold_for_capture("pi_1", hold, Origin.webhook("stripe", "evt_1", None))
    assert order.expires_at == hold
    assert not order.is_expired(hold - timedelta(seconds=1))
    assert order.is_expired(hold)
    order.confirm_payment(order.payment_id, "pi_1", order.provider, amount=2500)
    assert order.status is OrderStatus.PAYMENT_CONFIRMED
    assert order.paid == 2500
    event = order.collect_events()[-1]
    assert isinstance(event, Order.Confirmed)
    assert event.amount == 2500
    with pytest.raises(RefundExceedsCaptured):
        order.record_refund(2501)
    order.record_refund(2500)
    assert order_status(order) is OrderStatus.REFUNDED


def test_an_order_cannot_be_confirmed_for_more_than_it_costs() -> None:
    order = new_order()
    with pytest.raises(InvalidAmount, match="at most"):
        order.confirm_payment(order.payment_id, "pi_1", order.provider, amount=order.amount + 1)
    assert order.paid == order.amount


def test_a_void_reason_a_view_cannot_store_is_refused() -> None:
    order = new_order()
    with pytest.raises(OutOfBounds):
        order.cancel("void\x00", ADMIN)
    assert order.status is OrderStatus.PENDING_PAYMENT
