"""Refunds through stripe-python: partial, full remaining, over-refund, idempotency."""

from __future__ import annotations

import re

import pytest
import stripe

from .conftest import STRIPE_WEBHOOK_SECRET, Sandbox, unique


@pytest.fixture
def paid_intent(stripe_client: stripe.StripeClient) -> stripe.PaymentIntent:
    intent = stripe_client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "metadata": {"orderId": unique("order")}}
    )
    return stripe_client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def test_partial_refund_is_a_succeeded_refund_of_that_amount(
    stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    refund = stripe_client.v1.refunds.create(
        {"payment_intent": paid_intent.id, "amount": 300, "reason": "requested_by_customer"}
    )

    assert re.fullmatch(r"re_[A-Za-z0-9]{24}", refund.id)
    assert (refund.object, refund.status, refund.amount) == ("refund", "succeeded", 300)
    assert refund.payment_intent == paid_intent.id
    assert refund.charge == paid_intent.latest_charge
    charge = stripe_client.v1.charges.retrieve(str(paid_intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (300, False)
    assert stripe_client.v1.refunds.retrieve(refund.id).id == refund.id


def test_refund_without_amount_refunds_what_remains(
    stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    stripe_client.v1.refunds.create({"payment_intent": paid_intent.id, "amount": 250})

    rest = stripe_client.v1.refunds.create({"payment_intent": paid_intent.id})

    assert rest.amount == 750
    charge = stripe_client.v1.charges.retrieve(str(paid_intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (1000, True)


def test_refunding_more_than_remains_is_amount_too_large(
    stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    stripe_client.v1.refunds.create({"payment_intent": paid_intent.id, "amount": 400})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": paid_intent.id, "amount": 700})

    assert raised.value.http_status == 400
    assert raised.value.code == "amount_too_large"
    assert raised.value.param == "amount"
    assert "greater than unrefunded amount" in str(raised.value.user_message)


def test_refunding_a_fully_refunded_charge_is_charge_already_refunded(
    stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    stripe_client.v1.refunds.create({"payment_intent": paid_intent.id})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": paid_intent.id, "amount": 1})

    assert raised.value.code == "charge_already_refunded"


def test_refund_idempotency_key_refunds_once(
    stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    key = unique("refund")
    params: stripe.params.RefundCreateParams = {"payment_intent": paid_intent.id, "amount": 600}

    first = stripe_client.v1.refunds.create(params, {"idempotency_key": key})
    second = stripe_client.v1.refunds.create(params, {"idempotency_key": key})

    assert second.id == first.id
    charge = stripe_client.v1.charges.retrieve(str(paid_intent.latest_charge))
    assert charge.amount_refunded == 600


def test_an_unpaid_intent_cannot_be_refunded(stripe_client: stripe.StripeClient) -> None:
    intent = stripe_client.v1.payment_intents.create({"amount": 500, "currency": "usd"})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": intent.id})

    assert raised.value.param == "payment_intent"


def test_a_dashboard_refund_without_metadata_sends_refund_and_charge_events(
    sandbox: Sandbox, stripe_client: stripe.StripeClient, paid_intent: stripe.PaymentIntent
) -> None:
    charge_id = str(paid_intent.latest_charge)

    by_charge = stripe_client.v1.refunds.create({"charge": charge_id, "amount": 400})
    by_intent = stripe_client.v1.refunds.create({"payment_intent": paid_intent.id})

    for refund in (by_charge, by_intent):
        assert (refund.payment_intent, refund.charge) == (paid_intent.id, charge_id)
        assert refund.metadata is not None
        assert refund.metadata.to_dict() == {}
    sandbox.control("POST", "/webhooks/flush", json={"timeout": 10})
    events = [
        stripe.Webhook.construct_event(w.body, w.header("Stripe-Signature"), STRIPE_WEBHOOK_SECRET)
        for w in sandbox.receiver.received("/stripe")
    ]
    refund_events = [e for e in events if e.type.startswith(("refund.", "charge.refunded"))]
    assert [e.type for e in refund_events] == [
        "refund.created",
        "charge.refunded",
        "refund.updated",
    ] * 2
    created = refund_events[0].data.object
    assert (created["id"], created["payment_intent"], created["charge"]) == (
        by_charge.id,
        paid_intent.id,
        charge_id,
    )
    assert created["metadata"].to_dict() == {}
    refunded = [e.data.object for e in refund_events if e.type == "charge.refunded"]
    assert [(c["amount_refunded"], c["refunded"]) for c in refunded] == [(400, False), (1000, True)]
    assert all(c["payment_intent"] == paid_intent.id for c in refunded)
