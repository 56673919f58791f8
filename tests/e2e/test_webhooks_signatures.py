"""Only requests the provider signed, over exactly these bytes and recently, are accepted.

A refused request records nothing: no inbox row, no event; only a counter and a log line.
The forged events here name a real order, so accepting one would visibly confirm it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.webhooks.inbox import InboxStatus
from sandbox.webhook_signing import stripe_signature_header
from tests.e2e.payment_shop import (
    RAZORPAY_WEBHOOK_SECRET,
    STRIPE_WEBHOOK_SECRET,
    PaymentShop,
    customer,
)
from tests.e2e.payment_shop import open_shop as open_shop
from tests.e2e.payment_shop import provider_sandbox as provider_sandbox
from tests.e2e.payment_shop import shop as shop


def _rejected(shop: PaymentShop, provider: str, reason: str) -> float:
    text = shop.api.client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "checkout_webhooks_rejected_total" and sample.labels == {
                "provider": provider,
                "reason": reason,
            }:
                return sample.value
    return 0.0


def _forged_success(shop: PaymentShop) -> tuple[str, str, dict[str, Any]]:
    """A payment_intent.succeeded event for a real, unpaid order."""
    buyer = customer()
    order_id = shop.checkout(buyer, "stripe")
    payment = shop.payable(order_id, buyer)
    intent = {
        "id": payment["gatewayOrderId"],
        "object": "payment_intent",
        "status": "succeeded",
        "amount": payment["amount"],
        "amount_received": payment["amount"],
        "currency": payment["currency"].lower(),
        "metadata": {"paymentId": payment["paymentId"], "orderId": order_id},
    }
    event = {
        "id": "evt_forged_0001",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": intent},
    }
    return buyer, order_id, event


def _post_stripe(shop: PaymentShop, body: bytes, signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return shop.api.client.post("/webhooks/stripe", content=body, headers=headers)


@pytest.mark.parametrize(
    ("reason", "sign"),
    [
        ("invalid", lambda body: stripe_signature_header(body, "whsec_not_ours", int(time.time()))),
        ("missing", lambda body: None),
        (
            "stale",
            lambda body: stripe_signature_header(
                body, STRIPE_WEBHOOK_SECRET, int(time.time()) - 400
            ),
        ),
        ("invalid", lambda body: "t=not-a-time,v1=deadbeef"),
    ],
    ids=["forged", "missing", "stale", "garbled"],
)
def test_a_stripe_webhook_without_a_valid_recent_signature_is_refused(
    shop: PaymentShop, reason: str, sign: Any
) -> None:
    buyer, order_id, event = _forged_success(shop)
    body = json.dumps(event).encode()
    shop.flush()
    head, rows, refused = (
        shop.api.head(),
        len(shop.inbox_entries()),
        _rejected(shop, "stripe", reason),
    )

    response = _post_stripe(shop, body, sign(body))

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["reason"] == reason
    assert shop.inbox.get("stripe", "evt_forged_0001") is None
    assert len(shop.inbox_entries()) == rows
    assert shop.api.head() == head, "no event was written"
    assert _rejected(shop, "stripe", reason) == refused + 1
    assert shop.order(order_id, buyer)["status"] == "PENDING_PAYMENT"


def test_a_body_changed_after_signing_is_refused(shop: PaymentShop) -> None:
    _, _, event = _forged_success(shop)
    signed = json.dumps(event).encode()
    signature = stripe_signature_header(signed, STRIPE_WEBHOOK_SECRET, int(time.time()))
    # The same JSON, re-serialised: equal as data, different as bytes.
    tampered = json.dumps(event, indent=1).encode()

    assert _post_stripe(shop, tampered, signature).status_code == 400
    assert shop.inbox.get("stripe", "evt_forged_0001") is None


def test_a_correctly_signed_event_is_recorded_once_and_applied(shop: PaymentShop) -> None:
    """The counterpart: the same event, signed with the secret, confirms the order."""
    buyer, order_id, event = _forged_success(shop)
    body = json.dumps(event).encode()
    signature = stripe_signature_header(body, STRIPE_WEBHOOK_SECRET, int(time.time()))

    first = _post_stripe(shop, body, signature)
    again = _post_stripe(shop, body, signature)

    assert first.status_code == 200, first.text
    assert first.json() == {"received": True, "duplicate": False, "status": "processed"}
    assert again.json() == {"received": True, "duplicate": True, "status": "processed"}
    entry = shop.inbox.get("stripe", "evt_forged_0001")
    assert entry is not None
    assert entry.body == body, "the raw bytes are kept as they were signed"
    assert entry.status is InboxStatus.PROCESSED
    assert entry.attempts == 1
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")


def test_a_signed_body_that_is_no_event_is_refused(shop: PaymentShop) -> None:
    body = b'{"hello": "world"}'
    signature = stripe_signature_header(body, STRIPE_WEBHOOK_SECRET, int(time.time()))
    refused = _rejected(shop, "stripe", "malformed")

    response = _post_stripe(shop, body, signature)

    assert response.status_code == 400
    assert response.json()["reason"] == "malformed"
    assert _rejected(shop, "stripe", "malformed") == refused + 1
    assert shop.inbox_entries() == []


@pytest.mark.parametrize("signature", ["0" * 64, None], ids=["forged", "missing"])
def test_a_razorpay_webhook_without_a_valid_signature_is_refused(
    shop: PaymentShop, signature: str | None
) -> None:
    buyer = customer()
    order_id = shop.checkout(buyer, "razorpay")
    payment = shop.payable(order_id, buyer)
    body = json.dumps(
        {
            "entity": "event",
            "event": "payment.captured",
            "payload": {
                "payment": {
                    "entity": {
                        "id": "pay_Forged00000001",
                        "order_id": payment["gatewayOrderId"],
                        "amount": payment["amount"],
                        "currency": payment["currency"],
                    }
                }
            },
        }
    ).encode()
    headers = {"X-Razorpay-Event-Id": "evt_RzpForged0001", "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Razorpay-Signature"] = signature
    reason = "invalid" if signature else "missing"
    shop.flush()
    head, refused = shop.api.head(), _rejected(shop, "razorpay", reason)

    response = shop.api.client.post("/webhooks/razorpay", content=body, headers=headers)

    assert response.status_code == 400, response.text
    assert shop.inbox.entries("razorpay") == []
    assert shop.api.head() == head
    assert _rejected(shop, "razorpay", reason) == refused + 1
    # Signed with the webhook secret, the very same bytes are accepted.
    good = hmac.new(RAZORPAY_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    accepted = shop.api.client.post(
        "/webhooks/razorpay", content=body, headers=headers | {"X-Razorpay-Signature": good}
    )
    assert accepted.status_code == 200, accepted.text
    shop.wait_order(order_id, buyer, "PAYMENT_CONFIRMED")


def _signed_stripe_event(shop: PaymentShop, event_type: str) -> Any:
    event_id = f"evt_{hashlib.sha256(event_type.encode()).hexdigest()[:16]}{time.time_ns()}"
    body = json.dumps(
        {"id": event_id, "object": "event", "type": event_type, "data": {"object": {}}}
    ).encode()
    signature = stripe_signature_header(body, STRIPE_WEBHOOK_SECRET, int(time.time()))
    return event_id, _post_stripe(shop, body, signature)


def test_a_type_the_engine_ignores_is_answered_without_being_stored(shop: PaymentShop) -> None:
    event_id, answer = _signed_stripe_event(shop, "payment_intent.created")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "duplicate": False, "status": "ignored"}
    assert shop.inbox.get("stripe", event_id) is None


def test_a_type_the_engine_does_not_know_is_stored_for_operators(shop: PaymentShop) -> None:
    event_id, answer = _signed_stripe_event(shop, "invoice.finalized")

    assert answer.status_code == 200, answer.text
    entry = shop.inbox.get("stripe", event_id)
    assert entry is not None
    assert entry.status is InboxStatus.IGNORED
