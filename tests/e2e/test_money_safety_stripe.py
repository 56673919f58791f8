"""One payment, one charge, through Stripe: at most one open hosted session per payment, and
a second capture (the intent and a session both paid) is refunded automatically."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until


def _session(shop: PaymentShop, order_id: str, buyer: str) -> httpx.Response:
    return shop.api.client.post(
        f"/orders/{order_id}/payments/checkout-session", headers=shop.api.auth(buyer)
    )


def _stripe_session(shop: PaymentShop, session_id: str) -> Any:
    return shop.stripe.v1.checkout.sessions.retrieve(session_id)


def test_asking_twice_for_a_hosted_session_answers_the_same_open_one(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)

    first = _session(shop, order_id, buyer)
    again = [_session(shop, order_id, buyer) for _ in range(3)]

    assert first.status_code == 201, first.text
    assert [a.status_code for a in again] == [200, 200, 200]
    assert {a.json()["sessionId"] for a in again} == {first.json()["sessionId"]}
    assert {a.json()["checkoutUrl"] for a in again} == {first.json()["checkoutUrl"]}
    listed = shop.stripe.v1.checkout.sessions.list({"limit": 100})
    mine = [s for s in listed.data if s.to_dict()["metadata"].get("orderId") == order_id]
    assert len(mine) == 1


def test_an_expired_session_is_replaced_by_a_new_one(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)
    first = _session(shop, order_id, buyer).json()["sessionId"]

    shop.control("POST", f"/stripe/checkout/sessions/{first}/expire")

    def replaced() -> str | None:
        answer = _session(shop, order_id, buyer)
        return answer.json()["sessionId"] if answer.status_code == 201 else None

    second = wait_until(replaced, what="a new session after checkout.session.expired")
    assert second != first
    shop.flush()
    expired = [
        e for e in shop.inbox_entries("stripe") if e.event_type == "checkout.session.expired"
    ]
    assert [e.status.value for e in expired] == ["processed"]
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"


def test_intent_and_session_both_paid_keep_one_charge_and_refund_the_other(
    shop: PaymentShop,
) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    session = _session(shop, order_id, buyer).json()
    # Two tabs: the page's card form and the hosted page, both submitted before the engine
    # hears of either (webhooks held back), so it cannot close one in time.
    shop.control("POST", "/webhooks/hold")
    assert shop.confirm_card(intent_id) == "succeeded"
    paid = httpx.post(session["checkoutUrl"], data={"action": "pay"}, timeout=30)
    assert paid.status_code == 303, paid.text
    shop.control("POST", "/webhooks/release", json={"order": "fifo"})

    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    session_intent = _stripe_session(shop, session["sessionId"]).payment_intent
    assert session_intent is not None
    wait_until(
        lambda: [r["amount"] for r in shop.refunds_at_provider("stripe", session_intent)] == [2500],
        what="the second charge refunded",
    )
    assert shop.refunds_at_provider("stripe", intent_id) == []
    payment = shop.wait_payment(order_id, buyer, "succeeded")
    assert (payment["gatewayPaymentId"], payment["refundedAmount"]) == (intent_id, 0)
    settled = [("duplicate", session_intent, "succeeded")]
    wait_until(
        lambda: (
            [(r["kind"], r["gatewayPaymentId"], r["status"]) for r in shop.refunds(order_id)]
            == settled
        ),
        what="the duplicate refund listed as succeeded",
    )


def test_once_paid_the_open_session_is_closed(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    session_id = _session(shop, order_id, buyer).json()["sessionId"]

    assert shop.confirm_card(intent_id) == "succeeded"

    wait_until(
        lambda: _stripe_session(shop, session_id).status == "expired",
        what="the worker expiring the open session",
    )
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")


def test_a_session_paid_first_cancels_the_engines_own_intent(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    intent_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    session = _session(shop, order_id, buyer).json()

    paid = httpx.post(session["checkoutUrl"], data={"action": "pay"}, timeout=30)

    assert paid.status_code == 303
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    wait_until(
        lambda: shop.stripe_intent(intent_id).status == "canceled",
        what="the unused intent cancelled",
    )


def test_a_cancelled_orders_open_session_is_expired(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    shop.payable(order_id, buyer)
    session_id = _session(shop, order_id, buyer).json()["sessionId"]

    cancelled = shop.api.client.post(f"/orders/{order_id}/cancel", headers=shop.api.auth(buyer))

    assert cancelled.status_code == 200, cancelled.text
    wait_until(
        lambda: _stripe_session(shop, session_id).status == "expired",
        what="the cancelled order's session expired",
    )
    payment = shop.wait_payment(order_id, buyer, "canceled")
    assert payment["failureReason"]
