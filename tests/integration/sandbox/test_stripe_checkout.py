"""Checkout Sessions and the hosted test page, driven as a browser would."""

from __future__ import annotations

import re

import httpx
import pytest
import stripe

from .conftest import Sandbox, unique


def _session(client: stripe.StripeClient, order_id: str) -> stripe.checkout.Session:
    return client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1250,
                        "product_data": {"name": "Sandbox widget"},
                    },
                    "quantity": 2,
                }
            ],
            "metadata": {"orderId": order_id},
            "payment_intent_data": {"metadata": {"orderId": order_id}},
            "success_url": "https://shop.example/paid?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.example/cancelled",
        }
    )


def test_session_has_stripes_shape_and_a_hosted_page_url(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    session = _session(stripe_client, unique("order"))

    assert re.fullmatch(r"cs_test_[A-Za-z0-9]+", session.id)
    assert session.object == "checkout.session"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (2500, "usd")
    assert session.url == f"{sandbox.stripe_base}/pay/{session.id}"
    assert session.payment_intent is None
    items = stripe_client.v1.checkout.sessions.line_items.list(session.id)
    assert [(i.description, i.quantity) for i in items.data] == [("Sandbox widget", 2)]


def test_hosted_page_offers_pay_and_decline(stripe_client: stripe.StripeClient) -> None:
    session = _session(stripe_client, unique("order"))

    page = httpx.get(str(session.url))

    assert page.status_code == 200
    assert "value='pay'" in page.text
    assert "value='decline'" in page.text


def test_paying_completes_the_session_and_redirects_to_success_url(
    stripe_client: stripe.StripeClient,
) -> None:
    order_id = unique("order")
    session = _session(stripe_client, order_id)

    response = httpx.post(str(session.url), data={"action": "pay"})

    assert response.status_code == 303
    assert response.headers["location"] == f"https://shop.example/paid?session={session.id}"
    paid = stripe_client.v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent"]})
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = paid.payment_intent
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "succeeded"
    assert intent.amount == 2500
    assert intent.metadata.to_dict() == {"orderId": order_id}


def test_declining_fails_the_intent_and_redirects_to_cancel_url(
    stripe_client: stripe.StripeClient,
) -> None:
    session = _session(stripe_client, unique("order"))

    response = httpx.post(str(session.url), data={"action": "decline"})

    assert response.status_code == 303
    assert response.headers["location"] == "https://shop.example/cancelled"
    after = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert after.status == "open"
    assert isinstance(after.payment_intent, str)
    intent = stripe_client.v1.payment_intents.retrieve(after.payment_intent)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None


def test_expire_closes_an_open_session(stripe_client: stripe.StripeClient) -> None:
    session = _session(stripe_client, unique("order"))

    expired = stripe_client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert expired.url is None
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.checkout.sessions.expire(session.id)
    assert httpx.post(str(session.url), data={"action": "pay"}).status_code == 409


def test_payment_mode_needs_line_items(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.checkout.sessions.create(
            {"mode": "payment", "success_url": "https://shop.example/ok"}
        )

    assert raised.value.param == "line_items"
