"""Signed webhooks: verification with the SDKs, retries, duplicates and out-of-order delivery."""

from __future__ import annotations

import json

import httpx
import pytest
import razorpay
import stripe

from .conftest import (
    RAZORPAY_WEBHOOK_SECRET,
    STRIPE_WEBHOOK_SECRET,
    ReceivedWebhook,
    Sandbox,
    unique,
)


def _paid_intent(client: stripe.StripeClient) -> stripe.PaymentIntent:
    intent = client.v1.payment_intents.create(
        {"amount": 4200, "currency": "eur", "metadata": {"orderId": unique("order")}}
    )
    return client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def _stripe_event(webhook: ReceivedWebhook) -> stripe.Event:
    event: stripe.Event = stripe.Webhook.construct_event(
        webhook.body, webhook.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET
    )
    return event


def _types(webhooks: list[ReceivedWebhook]) -> list[str]:
    return [json.loads(w.body)["type"] for w in webhooks]


def test_stripe_webhooks_verify_with_construct_event(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    intent = _paid_intent(stripe_client)

    webhooks = sandbox.receiver.wait_for("/stripe", lambda ws: len(ws) >= 3)

    events = [_stripe_event(w) for w in webhooks]
    assert [e.type for e in events] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    succeeded = events[2]
    assert succeeded.object == "event"
    assert succeeded.id.startswith("evt_")
    assert succeeded.livemode is False
    assert succeeded.data.object["id"] == intent.id
    assert succeeded.data.object["status"] == "succeeded"
    assert stripe_client.v1.events.retrieve(succeeded.id).type == "payment_intent.succeeded"


def test_stripe_decline_and_refund_send_their_events(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    intent = stripe_client.v1.payment_intents.create({"amount": 900, "currency": "usd"})
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_chargeDeclined"}
        )
    stripe_client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    stripe_client.v1.refunds.create({"payment_intent": intent.id, "amount": 100})

    webhooks = sandbox.receiver.wait_for("/stripe", lambda ws: "refund.updated" in _types(ws))

    assert _types(webhooks) == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
        "charge.succeeded",
        "payment_intent.succeeded",
        "refund.created",
        "charge.refunded",
        "refund.updated",
    ]
    failed = _stripe_event(webhooks[2]).data.object
    assert failed["last_payment_error"]["decline_code"] == "generic_decline"
    updated = _stripe_event(webhooks[-1]).data.object
    assert updated["status"] == "succeeded"


def test_stripe_checkout_completion_is_announced(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = stripe_client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 700,
                        "product_data": {"name": "Thing"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": "https://shop.example/ok",
        }
    )
    httpx.post(str(session.url), data={"action": "pay"})

    webhooks = sandbox.receiver.wait_for(
        "/stripe", lambda ws: "checkout.session.completed" in _types(ws)
    )

    completed = _stripe_event(webhooks[-1])
    assert completed.data.object["id"] == session.id
    assert completed.data.object["payment_status"] == "paid"
    assert "payment_intent.succeeded" in _types(webhooks)


def test_razorpay_webhooks_verify_with_the_sdk(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = razorpay_client.order.create({"amount": 12300, "currency": "INR", "receipt": "r-1"})
    httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay", json={"outcome": "success"}
    )

    webhooks = sandbox.receiver.wait_for("/razorpay", lambda ws: len(ws) >= 3)

    utility = razorpay.Utility()
    for webhook in webhooks:
        signature = webhook.header("X-Razorpay-Signature")
        assert utility.verify_webhook_signature(
            webhook.body.decode(), signature, RAZORPAY_WEBHOOK_SECRET
        )
        assert len(webhook.header("X-Razorpay-Event-Id")) == 14
    bodies = [json.loads(w.body) for w in webhooks]
    assert [b["event"] for b in bodies] == ["payment.authorized", "payment.captured", "order.paid"]
    assert all(b["entity"] == "event" and b["account_id"].startswith("acc_") for b in bodies)
    authorized, captured, paid = bodies
    assert authorized["payload"]["payment"]["entity"]["status"] == "authorized"
    assert captured["payload"]["payment"]["entity"]["status"] == "captured"
    assert paid["contains"] == ["payment", "order"]
    assert paid["payload"]["order"]["entity"]["status"] == "paid"
    assert paid["payload"]["order"]["entity"]["id"] == order["id"]


def test_razorpay_failure_and_refund_webhooks(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = razorpay_client.order.create({"amount": 10000, "currency": "INR"})
    pay_url = f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay"
    httpx.post(pay_url, json={"outcome": "failure"})
    payment_id = httpx.post(pay_url, json={"outcome": "success"}).json()["razorpay_payment_id"]
    razorpay_client.payment.refund(payment_id, {"amount": 2500})

    webhooks = sandbox.receiver.wait_for(
        "/razorpay", lambda ws: any(b"refund.processed" in w.body for w in ws)
    )

    bodies = [json.loads(w.body) for w in webhooks]
    assert [b["event"] for b in bodies] == [
        "payment.failed",
        "payment.authorized",
        "payment.captured",
        "order.paid",
        "refund.created",
        "refund.processed",
    ]
    failed = bodies[0]["payload"]["payment"]["entity"]
    assert (failed["status"], failed["error_reason"]) == ("failed", "payment_failed")
    processed = bodies[-1]
    assert processed["contains"] == ["refund", "payment"]
    assert processed["payload"]["refund"]["entity"]["amount"] == 2500
    assert processed["payload"]["payment"]["entity"]["refund_status"] == "partial"


def test_failed_deliveries_are_retried_and_every_attempt_is_recorded(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    sandbox.receiver.respond_with("/stripe", [500, 503])
    intent = stripe_client.v1.payment_intents.create({"amount": 100, "currency": "usd"})

    webhooks = sandbox.receiver.wait_for("/stripe", lambda ws: len(ws) >= 1)

    event = _stripe_event(webhooks[0])
    assert event.data.object["id"] == intent.id
    attempts = sandbox.deliveries(min_count=3, event_id=event.id)
    assert [(a["attempt"], a["status_code"]) for a in attempts] == [(1, 500), (2, 503), (3, 200)]


def test_an_endpoint_gets_only_the_event_types_it_is_subscribed_to(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    """As a Stripe endpoint's enabled_events: the other events happen, and are listed."""
    settings = sandbox.control(
        "POST", "/settings", json={"stripe_webhook_events": ["payment_intent.succeeded"]}
    )
    assert settings["stripe_webhook_events"] == ["payment_intent.succeeded"]

    intent = _paid_intent(stripe_client)

    webhooks = sandbox.receiver.wait_for(
        "/stripe", lambda ws: "payment_intent.succeeded" in _types(ws)
    )
    assert _types(webhooks) == ["payment_intent.succeeded"]
    listed = stripe_client.v1.events.list({"limit": 10})
    mine = [e.type for e in listed.data if e.data.object.to_dict().get("id") == intent.id]
    assert "payment_intent.created" in mine
    with pytest.raises(httpx.HTTPStatusError) as refused:
        sandbox.control("POST", "/settings", json={"stripe_webhook_events": "all"})
    assert refused.value.response.status_code == 400


def test_duplicate_delivery_sends_each_event_twice(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/settings", json={"duplicate_webhooks": True})

    _paid_intent(stripe_client)

    webhooks = sandbox.receiver.wait_for("/stripe", lambda ws: len(ws) >= 6)
    ids = [_stripe_event(w).id for w in webhooks]
    assert len(set(ids)) == 3
    assert all(ids.count(event_id) == 2 for event_id in ids)


def test_held_webhooks_are_released_in_reverse_order(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/webhooks/hold")
    _paid_intent(stripe_client)
    held = sandbox.control("GET", "/webhooks/held")["held"]
    assert [h["event_type"] for h in held] == [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]
    assert sandbox.receiver.received("/stripe") == []

    released = sandbox.control("POST", "/webhooks/release", json={"order": "reverse"})

    webhooks = sandbox.receiver.wait_for("/stripe", lambda ws: len(ws) >= 3)
    assert _types(webhooks) == [
        "payment_intent.succeeded",
        "charge.succeeded",
        "payment_intent.created",
    ]
    assert released["released"] == [_stripe_event(w).id for w in webhooks]


def test_resend_delivers_a_recorded_event_again(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    order = razorpay_client.order.create({"amount": 10000, "currency": "INR"})
    httpx.post(
        f"{sandbox.razorpay_base}/v1/sandbox/orders/{order['id']}/pay", json={"outcome": "success"}
    )
    first = sandbox.receiver.wait_for("/razorpay", lambda ws: len(ws) >= 3)[-1]
    event_id = first.header("X-Razorpay-Event-Id")

    sandbox.control("POST", "/webhooks/resend", json={"event_id": event_id})

    again = sandbox.receiver.wait_for("/razorpay", lambda ws: len(ws) >= 4)[-1]
    assert again.header("X-Razorpay-Event-Id") == event_id
    assert again.body == first.body
