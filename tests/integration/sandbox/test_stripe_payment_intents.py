"""PaymentIntents through stripe-python: shapes, idempotency, confirm, decline, cancel."""

from __future__ import annotations

import re

import pytest
import stripe

from .conftest import Sandbox, unique


def _create(
    client: stripe.StripeClient, order_id: str, key: str | None = None
) -> stripe.PaymentIntent:
    options: stripe.RequestOptions = {"idempotency_key": key} if key else {}
    return client.v1.payment_intents.create(
        {
            "amount": 2599,
            "currency": "usd",
            "metadata": {"orderId": order_id},
            "automatic_payment_methods": {"enabled": True},
        },
        options,
    )


def test_create_returns_a_payment_intent_shaped_like_stripes(
    stripe_client: stripe.StripeClient,
) -> None:
    order_id = unique("order")

    intent = _create(stripe_client, order_id)

    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", intent.id)
    assert str(intent.client_secret).startswith(f"{intent.id}_secret_")
    assert intent.object == "payment_intent"
    assert intent.status == "requires_payment_method"
    assert (intent.amount, intent.currency) == (2599, "usd")
    assert intent.metadata.to_dict() == {"orderId": order_id}
    assert intent.automatic_payment_methods is not None
    assert intent.livemode is False
    assert intent.latest_charge is None


def test_retrieve_returns_the_same_intent(stripe_client: stripe.StripeClient) -> None:
    created = _create(stripe_client, unique("order"))

    fetched = stripe_client.v1.payment_intents.retrieve(created.id)

    assert fetched.to_dict() == created.to_dict()


def test_same_idempotency_key_and_params_replays_the_first_intent(
    stripe_client: stripe.StripeClient,
) -> None:
    order_id, key = unique("order"), unique("idem")

    first = _create(stripe_client, order_id, key)
    second = _create(stripe_client, order_id, key)

    assert second.id == first.id
    assert second.last_response is not None
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"


def test_same_idempotency_key_with_other_params_is_an_idempotency_error(
    stripe_client: stripe.StripeClient,
) -> None:
    key = unique("idem")
    _create(stripe_client, unique("order"), key)

    with pytest.raises(stripe.IdempotencyError) as raised:
        _create(stripe_client, unique("other-order"), key)

    assert raised.value.http_status == 400
    assert "same parameters" in str(raised.value.user_message)


def test_confirm_with_a_visa_succeeds_with_a_charge(stripe_client: stripe.StripeClient) -> None:
    intent = _create(stripe_client, unique("order"))

    confirmed = stripe_client.v1.payment_intents.confirm(
        intent.id, {"payment_method": "pm_card_visa"}
    )

    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 2599
    assert isinstance(confirmed.latest_charge, str)
    assert confirmed.latest_charge.startswith("ch_")
    charge = stripe_client.v1.charges.retrieve(confirmed.latest_charge)
    assert (charge.status, charge.paid, charge.payment_intent) == ("succeeded", True, intent.id)


def test_declined_card_raises_card_error_and_intent_awaits_a_new_payment_method(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = _create(stripe_client, unique("order"))

    with pytest.raises(stripe.CardError) as raised:
        stripe_client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_chargeDeclined"}
        )

    error = raised.value
    assert error.http_status == 402
    assert error.code == "card_declined"
    assert error.error is not None
    assert error.error.decline_code == "generic_decline"
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.id == intent.id
    after = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.code == "card_declined"


def test_a_declined_intent_can_be_paid_with_another_card(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = _create(stripe_client, unique("order"))
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_chargeDeclined"}
        )

    retried = stripe_client.v1.payment_intents.confirm(
        intent.id, {"payment_method": "pm_card_visa"}
    )

    assert retried.status == "succeeded"
    assert retried.last_payment_error is None


def test_cancel_moves_the_intent_to_canceled(stripe_client: stripe.StripeClient) -> None:
    intent = _create(stripe_client, unique("order"))

    canceled = stripe_client.v1.payment_intents.cancel(
        intent.id, {"cancellation_reason": "abandoned"}
    )

    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"
    assert canceled.canceled_at is not None


def test_a_succeeded_intent_cannot_be_canceled(stripe_client: stripe.StripeClient) -> None:
    intent = _create(stripe_client, unique("order"))
    stripe_client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.cancel(intent.id)

    assert raised.value.code == "payment_intent_unexpected_state"


def test_unknown_intent_is_resource_missing(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.retrieve("pi_doesnotexist")

    assert raised.value.http_status == 404
    assert raised.value.code == "resource_missing"


def test_unknown_parameters_are_rejected_as_stripe_does(
    stripe_client: stripe.StripeClient,
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create(
            {"amount": 100, "currency": "usd", "colour": "blue"}  # type: ignore[typeddict-unknown-key]
        )

    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "colour"


def test_keys_that_are_not_test_secret_keys_are_rejected(sandbox: Sandbox) -> None:
    client = stripe.StripeClient(
        "sk_live_not_allowed_here",
        base_addresses={"api": sandbox.stripe_base},
        max_network_retries=0,
    )

    with pytest.raises(stripe.AuthenticationError) as raised:
        client.v1.payment_intents.retrieve("pi_any")

    assert raised.value.http_status == 401
    assert "Invalid API Key provided" in str(raised.value.user_message)
