"""Checkout Sessions over time: expiry by the sandbox clock, listing, and a second payment."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe

from sandbox.app import SandboxParts
from sandbox.clock import SandboxClock
from sandbox.server import BackgroundSandbox

from .conftest import STRIPE_WEBHOOK_SECRET, Sandbox, unique

DAY = 86400


@pytest.fixture
def clock(_server: BackgroundSandbox, sandbox: Sandbox) -> SandboxClock:
    """The running sandbox's clock, to let time pass without the control's sweep."""
    parts: SandboxParts = _server.app.state.sandbox
    return parts.store.clock


def _session(
    client: stripe.StripeClient, order_id: str, expires_at: int | None = None
) -> stripe.checkout.Session:
    params: stripe.params.checkout.SessionCreateParams = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1500,
                    "product_data": {"name": "Sandbox widget"},
                },
                "quantity": 1,
            }
        ],
        "metadata": {"orderId": order_id},
        "payment_intent_data": {"metadata": {"orderId": order_id}},
        "success_url": "https://shop.example/paid",
        "cancel_url": "https://shop.example/cancelled",
    }
    if expires_at is not None:
        params["expires_at"] = expires_at
    return client.v1.checkout.sessions.create(params)


def _events(sandbox: Sandbox) -> list[stripe.Event]:
    sandbox.control("POST", "/webhooks/flush", json={"timeout": 10})
    return [
        stripe.Webhook.construct_event(w.body, w.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET)
        for w in sandbox.receiver.received("/stripe")
    ]


def _expired_ids(sandbox: Sandbox) -> list[str]:
    return [e.data.object["id"] for e in _events(sandbox) if e.type == "checkout.session.expired"]


def test_moving_the_clock_on_expires_sessions_whose_time_is_up(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    soon = _session(stripe_client, unique("order"), expires_at=int(time.time()) + 1800 + 60)
    later = _session(stripe_client, unique("order"))

    moved = sandbox.control("POST", "/clock/advance", json={"seconds": 1900})

    assert moved["expired_sessions"] == [soon.id]
    assert moved["offset_seconds"] == 1900
    expired = stripe_client.v1.checkout.sessions.retrieve(soon.id)
    assert (expired.status, expired.payment_status, expired.url) == ("expired", "unpaid", None)
    assert stripe_client.v1.checkout.sessions.retrieve(later.id).status == "open"
    assert _expired_ids(sandbox) == [soon.id]

    again = sandbox.control("POST", "/clock/advance", json={"seconds": DAY})

    assert again["expired_sessions"] == [later.id]
    assert _expired_ids(sandbox) == [soon.id, later.id]


def test_an_expired_session_cannot_be_paid_on_its_page(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _session(stripe_client, unique("order"))
    sandbox.control("POST", "/clock/advance", json={"seconds": DAY})

    page = httpx.get(str(session.url))
    paid = httpx.post(str(session.url), data={"action": "pay"})

    assert "This session is expired" in page.text
    assert paid.status_code == 409
    after = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (after.status, after.payment_intent) == ("expired", None)


def test_an_overdue_session_expires_when_it_is_next_touched(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, clock: SandboxClock
) -> None:
    session = _session(stripe_client, unique("order"))
    httpx.post(str(session.url), data={"action": "decline"})
    clock.advance(DAY + 1)
    assert _expired_ids(sandbox) == []

    touched = stripe_client.v1.checkout.sessions.retrieve(session.id)
    stripe_client.v1.checkout.sessions.retrieve(session.id)
    stripe_client.v1.checkout.sessions.list()

    assert touched.status == "expired"
    assert isinstance(touched.payment_intent, str)
    intent = stripe_client.v1.payment_intents.retrieve(touched.payment_intent)
    assert (intent.status, intent.cancellation_reason) == ("canceled", "abandoned")
    types = [e.type for e in _events(sandbox)]
    assert types[-2:] == ["payment_intent.canceled", "checkout.session.expired"]
    assert types.count("checkout.session.expired") == 1


def test_paying_an_overdue_session_is_refused_and_expires_it(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, clock: SandboxClock
) -> None:
    session = _session(stripe_client, unique("order"))
    clock.advance(DAY)

    paid = httpx.post(str(session.url), data={"action": "pay"})

    assert paid.status_code == 409
    assert _expired_ids(sandbox) == [session.id]
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)


def test_the_expire_control_runs_a_sessions_time_out_now(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _session(stripe_client, unique("order"))

    expired: dict[str, Any] = sandbox.control(
        "POST", f"/stripe/checkout/sessions/{session.id}/expire"
    )
    twice = httpx.post(f"{sandbox.url}/_sandbox/stripe/checkout/sessions/{session.id}/expire")

    assert (expired["status"], expired["url"]) == ("expired", None)
    assert expired["expires_at"] <= int(time.time()) + 1
    assert twice.status_code == 400
    [event] = [e for e in _events(sandbox) if e.type == "checkout.session.expired"]
    assert event.request is not None
    assert event.request.id is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)


def test_sessions_are_created_by_the_sandbox_clock_and_reset_puts_it_back(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    moved = sandbox.control("POST", "/clock/advance", json={"seconds": 2 * DAY})

    session = _session(stripe_client, unique("order"))

    assert session.status == "open"
    assert moved["now"] <= session.created <= moved["now"] + 5
    assert session.expires_at == session.created + DAY
    assert sandbox.control("GET", "/clock")["offset_seconds"] == 2 * DAY
    sandbox.control("POST", "/reset")
    assert sandbox.control("GET", "/clock")["offset_seconds"] == 0
    refused = httpx.post(f"{sandbox.url}/_sandbox/clock/advance", json={"seconds": -1})
    assert refused.status_code == 400


def test_sessions_are_listed_by_payment_intent_and_status(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    declined = _session(stripe_client, unique("order"))
    httpx.post(str(declined.url), data={"action": "decline"})
    paid = _session(stripe_client, unique("order"))
    httpx.post(str(paid.url), data={"action": "pay"})
    untouched = _session(stripe_client, unique("order"))
    intent_id = stripe_client.v1.checkout.sessions.retrieve(declined.id).payment_intent
    assert isinstance(intent_id, str)

    by_intent = stripe_client.v1.checkout.sessions.list(
        {"payment_intent": intent_id, "expand": ["data.payment_intent"]}
    )
    open_ones = stripe_client.v1.checkout.sessions.list({"status": "open"})
    first_page = stripe_client.v1.checkout.sessions.list({"limit": 2})
    second_page = stripe_client.v1.checkout.sessions.list(
        {"limit": 2, "starting_after": first_page.data[-1].id}
    )

    assert [s.id for s in by_intent.data] == [declined.id]
    assert isinstance(by_intent.data[0].payment_intent, stripe.PaymentIntent)
    assert [s.id for s in open_ones.data] == [untouched.id, declined.id]
    assert ([s.id for s in first_page.data], first_page.has_more) == (
        [untouched.id, paid.id],
        True,
    )
    assert ([s.id for s in second_page.data], second_page.has_more) == ([declined.id], False)
    assert [s.id for s in stripe_client.v1.checkout.sessions.list().auto_paging_iter()] == [
        untouched.id,
        paid.id,
        declined.id,
    ]


def test_a_session_can_be_paid_after_the_orders_own_intent_was(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    order_id = unique("order")
    own = stripe_client.v1.payment_intents.create(
        {"amount": 1500, "currency": "usd", "metadata": {"orderId": order_id}}
    )
    stripe_client.v1.payment_intents.confirm(own.id, {"payment_method": "pm_card_visa"})
    session = _session(stripe_client, order_id)

    response = httpx.post(str(session.url), data={"action": "pay"})

    assert response.status_code == 303
    after = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert after.status == "complete"
    assert isinstance(after.payment_intent, str)
    assert after.payment_intent != own.id
    for intent_id in (own.id, after.payment_intent):
        intent = stripe_client.v1.payment_intents.retrieve(intent_id)
        assert (intent.status, intent.amount_received) == ("succeeded", 1500)
        assert intent.metadata.to_dict() == {"orderId": order_id}
    succeeded = [e.data.object for e in _events(sandbox) if e.type == "payment_intent.succeeded"]
    assert [i["id"] for i in succeeded] == [own.id, after.payment_intent]
    assert {i["metadata"]["orderId"] for i in succeeded} == {order_id}
