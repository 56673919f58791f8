"""What the views show of money that did not simply pay the order: extra charges and their
refunds, foreign captures, dashboard refunds, disputes, and payments ended with their order."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from domain import ForeignCapture
from projections.queries import PaymentQueries, ReviewQueries
from tests.integration.projections.histories import Histories
from tests.integration.projections.test_views import order_body, payment_body
from tests.integration.projections.test_views import project as project


def test_an_extra_charge_and_its_refund_leave_the_order_paid(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.paid_order()
    payment.record_capture("pi_second", payment.amount, payment.currency, "evt_2")
    histories.app.save(payment)
    payment.complete_refund("duplicate:pi_second", "re_dup")
    histories.app.save(payment)
    project()

    body = payment_body(db, order)
    assert (body["status"], body["refundedAmount"]) == ("succeeded", 0)
    assert body["capturedAmount"] == payment.amount  # the extra charge is not the order's
    assert order_body(db, order)["status"] == "PAYMENT_CONFIRMED"
    assert order_body(db, order)["payment"]["status"] == "succeeded"
    refunds = PaymentQueries(db).refunds(order.id)
    assert refunds is not None
    [refund] = refunds
    assert refund["refundId"] == "duplicate:pi_second"
    assert (refund["kind"], refund["status"], refund["actor"]) == (
        "duplicate",
        "succeeded",
        "system",
    )
    assert (refund["gatewayPaymentId"], refund["gatewayRefundId"]) == ("pi_second", "re_dup")
    [review] = ReviewQueries(db).list(None, 10)
    assert (review["kind"], review["refundStatus"]) == ("duplicate", "succeeded")
    assert review["orderId"] == str(order.id)


def test_a_foreign_capture_is_listed_for_review_and_counted(
    histories: Histories, db: Engine, project: Any
) -> None:
    capture = ForeignCapture.record(
        "razorpay", "pay_X", None, 499, "INR", "b1f0...", "a payment with no Razorpay order"
    )
    histories.app.save(capture)
    project()

    [review] = ReviewQueries(db).list("foreign", 10)
    assert (review["provider"], review["gatewayPaymentId"], review["amount"]) == (
        "razorpay",
        "pay_X",
        499,
    )
    assert review["refundStatus"] is None
    assert ReviewQueries(db).list("duplicate", 10) == []
    assert ReviewQueries(db).census() == {("razorpay", "foreign", "none"): 1}


def test_requested_refunds_list_reason_and_actor_and_external_ones_count(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.paid_order()
    payment.request_refund("r1", 1000, reason="broken cup", actor="admin:ops")
    histories.app.save(payment)
    payment.record_external_refund("re_dash", 500, payment.gateway_payment_id or "", "evt_r")
    order.record_refund(500)
    histories.app.save(order, payment)
    project()

    body = payment_body(db, order)
    assert (body["status"], body["refundedAmount"]) == ("partially_refunded", 500)
    assert order_body(db, order)["status"] == "PARTIALLY_REFUNDED"
    refunds = PaymentQueries(db).refunds(order.id) or []
    summary = [(r["refundId"], r["kind"], r["status"], r["reason"], r["actor"]) for r in refunds]
    assert summary == [
        ("r1", "requested", "pending", "broken cup", "admin:ops"),
        ("external:re_dash", "external", "succeeded", "refunded at the provider", "system"),
    ]


def test_disputes_and_a_canceled_payment_show_on_the_payment(
    histories: Histories, db: Engine, project: Any
) -> None:
    order, payment = histories.paid_order()
    payment.open_dispute("dp_1", 4000, "usd", "fraudulent", payment.gateway_payment_id)
    histories.app.save(payment)
    payment.close_dispute("dp_1", "won")
    histories.app.save(payment)
    ended, unpaid = histories.place("customer-2")
    histories.cancel(ended)
    unpaid.cancel("customer")
    histories.app.save(unpaid)
    project()

    [dispute] = payment_body(db, order)["disputes"]
    assert (dispute["disputeId"], dispute["status"], dispute["amount"]) == ("dp_1", "won", 4000)
    assert (dispute["currency"], dispute["reason"]) == ("USD", "fraudulent")
    canceled = payment_body(db, ended)
    assert (canceled["status"], canceled["failureReason"]) == ("canceled", "customer")
    assert order_body(db, ended)["payment"]["status"] == "canceled"
