"""Authorize now, capture later, through the real SDKs against the sandbox.

A manual-capture order waits in ``authorized`` with nothing for Kafka; an operator's
capture (whole or part, once per Idempotency-Key) confirms it with the amount captured, and
a second capture, a capture of more than is held, or a void of a captured payment is 409.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, cast
from uuid import UUID

import httpx

from domain import Order
from infrastructure.relay import RelayTopics, to_message
from tests.e2e.payment_shop import PaymentShop, customer
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop
from tests.waiting import wait_until


def _admin_post(
    shop: PaymentShop, order_id: str, action: str, body: dict[str, Any], key: str
) -> httpx.Response:
    headers = shop.api.admin() | {"Idempotency-Key": key}
    return shop.api.client.post(f"/admin/orders/{order_id}/{action}", json=body, headers=headers)


def _confirmations(shop: PaymentShop, order_id: str) -> list[dict[str, Any]]:
    """The OrderConfirmed records the relay would publish for the order, from the log."""
    app = shop.api.container.app
    topics = RelayTopics(confirmed=shop.api.container.settings.kafka_topic_order_confirmed)
    order: Order | None = None
    values = []
    for event in app.repository.event_store.get(UUID(order_id)):
        order = cast(Any, event).mutate(order)
        assert isinstance(order, Order)
        message = to_message(cast(Any, event), order, topics)
        if message is not None and message.topic == topics.confirmed:
            values.append(json.loads(message.value))
    return values


def test_a_partial_capture_confirms_the_order_with_the_captured_amount(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order()
    intent_id = payment["gatewayOrderId"]
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"
    assert shop.stripe_intent(intent_id).status == "requires_capture"
    assert _confirmations(shop, order_id) == []  # nothing for Kafka while authorized

    key = f"capture-{uuid.uuid4()}"
    body = {"amount": 1500, "reason": "one item out of stock"}
    captured = _admin_post(shop, order_id, "capture", body, key)
    assert captured.status_code == 202, captured.text
    assert captured.json()["amount"] == 1500
    again = _admin_post(shop, order_id, "capture", body, key)
    assert again.status_code == 202, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["captureId"] == captured.json()["captureId"]

    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    paid = shop.wait_payment(order_id, buyer, "succeeded")
    assert (paid["amount"], paid["capturedAmount"]) == (2500, 1500)
    intent = shop.stripe_intent(intent_id)
    assert (intent.status, intent.amount_received) == ("succeeded", 1500)
    [confirmed] = _confirmations(shop, order_id)
    assert confirmed["amount"] == 1500
    assert confirmed["payment"]["gatewayPaymentId"] == paid["gatewayPaymentId"]

    second = _admin_post(shop, order_id, "capture", {"reason": "again"}, f"k-{uuid.uuid4()}")
    assert second.status_code == 409, second.text
    assert second.headers["content-type"].startswith("application/problem+json")
    void = _admin_post(shop, order_id, "void", {"reason": "too late"}, f"k-{uuid.uuid4()}")
    assert void.status_code == 409, void.text
    # Refunds stay within what was captured.
    too_much = shop.refund(order_id, {"amount": 1501, "reason": "more than paid"})
    assert too_much.status_code == 409, too_much.text


def test_capturing_more_than_authorized_or_reusing_a_key_is_refused(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order()
    amount = payment["amount"]
    key = f"capture-{uuid.uuid4()}"
    more = _admin_post(shop, order_id, "capture", {"amount": amount + 1, "reason": "x"}, key)
    assert more.status_code == 409, more.text
    assert more.json()["type"].endswith("capture-exceeds-authorized")
    missing = shop.api.client.post(
        f"/admin/orders/{order_id}/capture", json={"reason": "x"}, headers=shop.api.admin()
    )
    assert missing.status_code == 400, missing.text
    no_reason = _admin_post(shop, order_id, "capture", {}, f"k-{uuid.uuid4()}")
    assert no_reason.status_code == 400, no_reason.text

    first = _admin_post(shop, order_id, "capture", {"reason": "all"}, key)
    assert first.status_code == 202, first.text
    other_body = _admin_post(shop, order_id, "capture", {"reason": "other"}, key)
    assert other_body.status_code == 409, other_body.text
    shop.wait_payment(order_id, buyer, "succeeded")
    assert shop.stripe_intent(payment["gatewayOrderId"]).amount_received == amount


def test_a_void_releases_the_authorization_and_the_stock(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order()
    nul = _admin_post(shop, order_id, "void", {"reason": "oops\u0000"}, f"k-{uuid.uuid4()}")
    assert nul.status_code == 422, nul.text
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"
    key = f"void-{uuid.uuid4()}"
    voided = _admin_post(shop, order_id, "void", {"reason": "customer called to cancel"}, key)
    assert voided.status_code == 200, voided.text
    replay = _admin_post(shop, order_id, "void", {"reason": "customer called to cancel"}, key)
    assert replay.status_code == 200, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert shop.order(order_id, buyer)["status"] == "CANCELLED"
    canceled = shop.wait_payment(order_id, buyer, "canceled")
    assert canceled["failureReason"] == "customer called to cancel"
    wait_until(
        lambda: shop.stripe_intent(payment["gatewayOrderId"]).status == "canceled",
        what="the worker to cancel the intent at Stripe",
    )
    capture = _admin_post(shop, order_id, "capture", {"reason": "x"}, f"k-{uuid.uuid4()}")
    assert capture.status_code == 409, capture.text
    assert _confirmations(shop, order_id) == []


def test_an_automatic_order_is_never_authorized(shop: PaymentShop) -> None:
    paid = shop.paid_order("stripe")
    capture = _admin_post(shop, paid.order_id, "capture", {"reason": "x"}, f"k-{uuid.uuid4()}")
    assert capture.status_code == 409, capture.text


def test_razorpay_captures_the_whole_authorization_only(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order("razorpay")
    amount = payment["amount"]
    part = _admin_post(shop, order_id, "capture", {"amount": 100, "reason": "x"}, "k-part")
    assert part.status_code == 409, part.text
    assert "whole" in part.json()["detail"]

    whole = _admin_post(shop, order_id, "capture", {"reason": "ship it"}, f"k-{uuid.uuid4()}")
    assert whole.status_code == 202, whole.text
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    paid = shop.wait_payment(order_id, buyer, "succeeded")
    assert paid["capturedAmount"] == amount
    [confirmed] = _confirmations(shop, order_id)
    assert confirmed["amount"] == amount
    assert confirmed["payment"]["gatewayPaymentId"] == paid["gatewayPaymentId"]


def test_an_authorization_of_another_amount_is_parked_for_a_person(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.manual_checkout(buyer, "razorpay")
    gateway_order_id = shop.payable(order_id, buyer)["gatewayOrderId"]
    # checkout.js lets the customer's browser change the amount it pays on the order.
    assert shop.pay_razorpay(gateway_order_id, amount=100).status_code == 200
    shop.flush()

    def parked() -> list[Any]:
        entries = shop.inbox_entries("razorpay")
        return [e for e in entries if e.event_type == "payment.authorized" and e.last_error]

    [entry] = wait_until(parked, what="the mismatched authorization to be parked")
    assert entry.status.value == "failed"
    assert "AuthorizationMismatch" in (entry.last_error or "")
    assert shop.payment(order_id, buyer)["status"] == "pending"
    assert _confirmations(shop, order_id) == []


def test_a_hosted_page_of_a_manual_order_only_authorizes(shop: PaymentShop) -> None:
    buyer = customer()
    order_id = shop.manual_checkout(buyer, "stripe")
    shop.payable(order_id, buyer)
    session = shop.api.client.post(
        f"/orders/{order_id}/payments/checkout-session", headers=shop.api.auth(buyer)
    )
    assert session.status_code == 201, session.text
    paid = httpx.post(session.json()["checkoutUrl"], data={"action": "pay"}, timeout=30)
    assert paid.status_code == 303, paid.text

    authorized = shop.wait_payment(order_id, buyer, "authorized", "the page's authorization")
    intent = shop.stripe_intent(authorized["gatewayPaymentId"])
    assert intent.status == "requires_capture"
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"
    captured = _admin_post(shop, order_id, "capture", {"reason": "ship"}, f"k-{uuid.uuid4()}")
    assert captured.status_code == 202, captured.text
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")
    assert shop.stripe_intent(authorized["gatewayPaymentId"]).status == "succeeded"


def test_an_authorization_stripe_lets_lapse_ends_the_order(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order()
    # Seven days pass at Stripe (not here: the engine's reaper would have voided it first).
    shop.control("POST", "/clock/advance", json={"seconds": 7 * 86400 + 60})
    assert shop.stripe_intent(payment["gatewayOrderId"]).status == "canceled"

    shop.wait_order(order_id, buyer, "CANCELLED")
    canceled = shop.wait_payment(order_id, buyer, "canceled")
    assert "authorization cancelled by Stripe (automatic)" in canceled["failureReason"]


def test_a_second_authorization_is_on_record_and_never_captured(shop: PaymentShop) -> None:
    order_id, buyer, payment = shop.authorized_order("razorpay")
    again = shop.pay_razorpay(payment["gatewayOrderId"], allowDuplicate=True)
    assert again.status_code == 200, again.text
    shop.flush()

    def noted() -> list[dict[str, Any]]:
        response = shop.api.client.get(
            "/admin/reviews", params={"kind": "extra_authorization"}, headers=shop.api.admin()
        )
        assert response.status_code == 200, response.text
        return [r for r in response.json()["items"] if r["orderId"] == order_id]

    [review] = wait_until(noted, what="the second authorization on record")
    assert review["status"] == "repaired"
    assert review["gatewayPaymentId"] != payment["gatewayPaymentId"]
    assert shop.payment(order_id, buyer)["status"] == "authorized"
