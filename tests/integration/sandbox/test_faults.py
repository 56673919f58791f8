"""Injected faults: 5xx answers and slow calls, as the SDKs see them."""

from __future__ import annotations

import json

import pytest
import razorpay
import stripe
from razorpay.errors import ServerError

from .conftest import Sandbox, unique


def test_stripe_sdk_surfaces_an_injected_503(
    sandbox: Sandbox, stripe_client: stripe.StripeClient
) -> None:
    sandbox.control(
        "POST", "/faults", json={"path_prefix": "/v1/payment_intents", "status": 503, "count": 1}
    )

    with pytest.raises(stripe.APIError) as raised:
        stripe_client.v1.payment_intents.create({"amount": 500, "currency": "usd"})

    assert raised.value.http_status == 503
    assert stripe_client.v1.payment_intents.create({"amount": 500, "currency": "usd"}).id


def test_stripe_sdk_retries_through_transient_faults_with_one_idempotency_key(
    sandbox: Sandbox,
) -> None:
    sandbox.control(
        "POST", "/faults", json={"path_prefix": "/v1/payment_intents", "status": 503, "count": 2}
    )
    retrying = stripe.StripeClient(
        "sk_test_retrying", base_addresses={"api": sandbox.stripe_base}, max_network_retries=2
    )

    intent = retrying.v1.payment_intents.create({"amount": 500, "currency": "usd"})

    assert intent.status == "requires_payment_method"
    assert sandbox.control("GET", "/faults")["faults"] == []


def test_razorpay_sdk_surfaces_an_injected_500_as_server_error(
    sandbox: Sandbox, razorpay_client: razorpay.Client
) -> None:
    sandbox.control(
        "POST",
        "/faults",
        json={"path_prefix": "/v1/orders", "status": 500, "provider": "razorpay"},
    )

    with pytest.raises(ServerError):
        razorpay_client.order.create({"amount": 1000, "currency": "INR"})

    assert razorpay_client.order.create({"amount": 1000, "currency": "INR"})["id"]


def test_a_timed_out_create_still_happens_and_its_key_replays_it(
    sandbox: Sandbox,
) -> None:
    """The call times out at the client but the sandbox goes on, as a real provider may."""
    sandbox.control(
        "POST", "/faults", json={"path_prefix": "/v1/payment_intents", "delay_seconds": 1.0}
    )
    impatient = stripe.StripeClient(
        "sk_test_impatient",
        base_addresses={"api": sandbox.stripe_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=0.2),
    )
    key = unique("idem")
    params: stripe.params.PaymentIntentCreateParams = {"amount": 700, "currency": "usd"}

    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.payment_intents.create(params, {"idempotency_key": key})
    created = sandbox.receiver.wait_for("/stripe", lambda ws: len(ws) >= 1)
    retried = impatient.v1.payment_intents.create(params, {"idempotency_key": key})

    assert retried.id == json.loads(created[0].body)["data"]["object"]["id"]
    assert retried.last_response is not None
    assert retried.last_response.headers.get("Idempotent-Replayed") == "true"
