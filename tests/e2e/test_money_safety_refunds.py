"""Refunds once per Idempotency-Key, listed with who asked and why; refunds and disputes made
at the provider reach the order; an ended order's payment reads ``canceled``."""

from __future__ import annotations

import pytest
import razorpay

from tests.e2e.payment_shop import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    PaymentShop,
    customer,
)
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_retried_refund_pays_out_once(shop: PaymentShop, provider: str) -> None:
    order_id, buyer, captured = shop.paid_order(provider)
    body = {"amount": 1000, "reason": "one cup arrived broken"}

    answers = [shop.refund(order_id, body, key="refund-broken-cup") for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.json()["refundId"] for a in answers}) == 1
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    shop.wait_order(order_id, buyer, "PARTIALLY_REFUNDED")
    wait_until(
        lambda: [r["status"] for r in shop.refunds(order_id)] == ["succeeded"],
        what="the refund settled",
    )
    assert [r["amount"] for r in shop.refunds_at_provider(provider, captured)] == [1000]
    (listed,) = shop.refunds(order_id)
    assert listed["refundId"] == answers[0].json()["refundId"]
    assert (listed["amount"], listed["currency"], listed["kind"]) == (1000, "USD", "requested")
    assert (listed["reason"], listed["actor"]) == ("one cup arrived broken", "admin:ops")
    assert listed["gatewayRefundId"]
    assert listed["gatewayPaymentId"] == captured

    other = shop.refund(order_id, {"amount": 900, "reason": "x"}, key="refund-broken-cup")
    assert other.status_code == 409, other.text
    assert shop.wait_payment(order_id, buyer, "partially_refunded")["refundedAmount"] == 1000


def test_a_refund_without_an_idempotency_key_is_refused(shop: PaymentShop) -> None:
    order_id = shop.paid_order("stripe").order_id
    response = shop.api.client.post(
        f"/admin/orders/{order_id}/refunds",
        json={"amount": 100, "reason": "no key"},
        headers=shop.api.admin(),
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"field": "Idempotency-Key", "message": "is required"}]
    assert shop.refunds(order_id) == []


def test_a_stripe_dashboard_refund_and_a_dispute_show_on_the_payment(shop: PaymentShop) -> None:
    order_id, buyer, intent_id = shop.paid_order("stripe")

    shop.stripe.v1.refunds.create({"payment_intent": intent_id, "amount": 700})

    payment = shop.wait_payment(order_id, buyer, "partially_refunded")
    assert payment["refundedAmount"] == 700
    shop.wait_order(order_id, buyer, "PARTIALLY_REFUNDED")
    (external,) = shop.refunds(order_id)
    assert (external["kind"], external["amount"], external["status"]) == (
        "external",
        700,
        "succeeded",
    )
    too_much = shop.refund(order_id, {"amount": 1801, "reason": "more than is left"})
    assert too_much.status_code == 409
    assert too_much.json()["refundable"] == 1800

    dispute = shop.control("POST", f"/stripe/charges/{intent_id}/dispute", json={"amount": 1800})

    def disputed(status: str) -> bool:
        disputes = shop.payment(order_id, buyer)["disputes"]
        return [(d["disputeId"], d["status"]) for d in disputes] == [(dispute["id"], status)]

    wait_until(lambda: disputed("open"), what="the dispute on the payment")
    shop.control("POST", f"/stripe/disputes/{dispute['id']}/close", json={"status": "lost"})
    wait_until(lambda: disputed("lost"), what="the lost dispute on the payment")
    (recorded,) = shop.payment(order_id, buyer)["disputes"]
    assert (recorded["amount"], recorded["currency"], recorded["reason"]) == (
        1800,
        "USD",
        "fraudulent",
    )


def test_a_razorpay_dashboard_refund_and_a_dispute_show_on_the_payment(
    shop: PaymentShop,
) -> None:
    order_id, buyer, payment_id = shop.paid_order("razorpay")
    client = razorpay.Client(
        auth=(RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET), base_url=f"{shop.sandbox_url}/razorpay"
    )

    client.payment.refund(payment_id, {"amount": 2500})

    shop.wait_order(order_id, buyer, "REFUNDED")
    assert shop.wait_payment(order_id, buyer, "refunded")["refundedAmount"] == 2500
    assert [r["kind"] for r in shop.refunds(order_id)] == ["external"]
    nothing_left = shop.refund(order_id, {"reason": "again"})
    assert nothing_left.status_code == 409

    dispute = shop.control("POST", f"/razorpay/payments/{payment_id}/dispute", json={})
    wait_until(
        lambda: [d["status"] for d in shop.payment(order_id, buyer)["disputes"]] == ["open"],
        what="the dispute on the payment",
    )
    shop.control("POST", f"/razorpay/disputes/{dispute['id']}/close", json={"status": "won"})
    wait_until(
        lambda: [d["status"] for d in shop.payment(order_id, buyer)["disputes"]] == ["won"],
        what="the won dispute on the payment",
    )


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_cancelled_orders_payment_reads_canceled(shop: PaymentShop, provider: str) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, provider)
    shop.payable(order_id, buyer)

    cancelled = shop.api.client.post(f"/orders/{order_id}/cancel", headers=shop.api.auth(buyer))

    assert cancelled.status_code == 200, cancelled.text
    payment = shop.wait_payment(order_id, buyer, "canceled")
    assert payment["failureReason"] == "cancelled by customer"
    assert shop.order(order_id, buyer)["payment"]["status"] == "canceled"
