"""Manual capture through stripe-python: authorize, capture (whole or part), void, expiry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe

from .conftest import Sandbox, unique

DAY = 86400


def _authorized(client: stripe.StripeClient, amount: int = 5000) -> stripe.PaymentIntent:
    intent = client.v1.payment_intents.create(
        {
            "amount": amount,
            "currency": "usd",
            "capture_method": "manual",
            "metadata": {"orderId": unique("order")},
        }
    )
    return client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})


def _event_types(sandbox: Sandbox, object_id: str) -> list[str]:
    """The types of the Stripe events about ``object_id``, oldest first."""
    events = sandbox.control("GET", "/events", provider="stripe")["events"]
    return [e["type"] for e in events if e["body"]["data"]["object"]["id"] == object_id]


def _events_of(sandbox: Sandbox, event_type: str) -> list[dict[str, Any]]:
    events = sandbox.control("GET", "/events", provider="stripe")["events"]
    return [e["body"]["data"]["object"] for e in events if e["type"] == event_type]


def test_a_manual_intent_is_created_with_its_capture_method(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = stripe_client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "capture_method": "manual"}
    )

    assert intent.capture_method == "manual"
    assert intent.status == "requires_payment_method"


def test_an_unknown_capture_method_is_refused(stripe_client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.create(
            {"amount": 1000, "currency": "usd", "capture_method": "later"}
        )

    assert raised.value.http_status == 400
    assert raised.value.param == "capture_method"
    assert raised.value.code == "parameter_invalid_string"


def test_confirming_a_manual_intent_authorizes_without_capturing(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)

    assert intent.status == "requires_capture"
    assert (intent.amount_capturable, intent.amount_received) == (5000, 0)
    charge = stripe_client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, False)
    assert (charge.amount, charge.amount_captured, charge.amount_refunded) == (5000, 0, 0)
    assert charge.balance_transaction is None
    card = charge.payment_method_details.card  # type: ignore[union-attr]
    assert card is not None
    assert card.capture_before == charge.created + 7 * DAY
    assert _event_types(sandbox, intent.id) == [
        "payment_intent.created",
        "payment_intent.amount_capturable_updated",
    ]
    [uncaptured] = _events_of(sandbox, "charge.succeeded")
    assert (uncaptured["id"], uncaptured["captured"]) == (charge.id, False)


def test_confirming_with_capture_method_manual_authorizes_an_automatic_intent(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = stripe_client.v1.payment_intents.create({"amount": 700, "currency": "usd"})

    confirmed = stripe_client.v1.payment_intents.confirm(
        intent.id, {"payment_method": "pm_card_visa", "capture_method": "manual"}
    )

    assert (confirmed.capture_method, confirmed.status) == ("manual", "requires_capture")
    assert confirmed.amount_capturable == 700


def test_a_declined_manual_intent_has_nothing_to_capture(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = stripe_client.v1.payment_intents.create(
        {"amount": 700, "currency": "usd", "capture_method": "manual"}
    )
    with pytest.raises(stripe.CardError):
        stripe_client.v1.payment_intents.confirm(
            intent.id, {"payment_method": "pm_card_chargeDeclined"}
        )

    after = stripe_client.v1.payment_intents.retrieve(intent.id)

    assert (after.status, after.amount_capturable) == ("requires_payment_method", 0)


def test_capturing_the_whole_amount_succeeds_the_intent(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)

    captured = stripe_client.v1.payment_intents.capture(intent.id)

    assert captured.status == "succeeded"
    assert (captured.amount_received, captured.amount_capturable) == (5000, 0)
    charge = stripe_client.v1.charges.retrieve(str(captured.latest_charge))
    assert (charge.captured, charge.amount_captured, charge.amount_refunded) == (True, 5000, 0)
    assert (charge.refunded, charge.balance_transaction is not None) == (False, True)
    assert _event_types(sandbox, charge.id) == ["charge.succeeded", "charge.captured"]
    assert _event_types(sandbox, intent.id)[-1] == "payment_intent.succeeded"
    [succeeded] = _events_of(sandbox, "payment_intent.succeeded")
    assert succeeded["amount_received"] == 5000


def test_a_partial_capture_releases_the_rest(stripe_client: stripe.StripeClient) -> None:
    intent = _authorized(stripe_client)

    captured = stripe_client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 1800})

    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        "succeeded",
        1800,
        0,
    )
    charge = stripe_client.v1.charges.retrieve(str(captured.latest_charge))
    assert (charge.amount_captured, charge.amount_refunded, charge.refunded) == (1800, 3200, False)


def test_a_partially_captured_charge_refunds_only_what_was_captured(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = _authorized(stripe_client)
    stripe_client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 1800})

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"payment_intent": intent.id, "amount": 1801})
    refund = stripe_client.v1.refunds.create({"payment_intent": intent.id})

    assert raised.value.code == "amount_too_large"
    assert refund.amount == 1800
    charge = stripe_client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.amount_refunded, charge.refunded) == (5000, True)


def test_capturing_more_than_is_capturable_is_amount_too_large(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = _authorized(stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 5001})

    assert raised.value.http_status == 400
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount_to_capture")
    assert stripe_client.v1.payment_intents.retrieve(intent.id).status == "requires_capture"


@pytest.mark.parametrize("manual", [False, True])
def test_capturing_an_intent_not_awaiting_capture_is_unexpected_state(
    stripe_client: stripe.StripeClient, manual: bool
) -> None:
    """An automatic intent already succeeded, and a manual one already captured, alike."""
    if manual:
        intent = _authorized(stripe_client)
        stripe_client.v1.payment_intents.capture(intent.id)
    else:
        created = stripe_client.v1.payment_intents.create({"amount": 5000, "currency": "usd"})
        intent = stripe_client.v1.payment_intents.confirm(
            created.id, {"payment_method": "pm_card_visa"}
        )

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(intent.id)

    assert raised.value.http_status == 400
    assert raised.value.code == "payment_intent_unexpected_state"
    assert "status of succeeded" in str(raised.value.user_message)


def test_an_unconfirmed_manual_intent_cannot_be_captured(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = stripe_client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "capture_method": "manual"}
    )

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(intent.id)

    assert raised.value.code == "payment_intent_unexpected_state"


def test_capture_with_the_same_idempotency_key_replays_the_first_answer(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)
    options: stripe.RequestOptions = {"idempotency_key": unique("capture")}

    first = stripe_client.v1.payment_intents.capture(
        intent.id, {"amount_to_capture": 2000}, options
    )
    second = stripe_client.v1.payment_intents.capture(
        intent.id, {"amount_to_capture": 2000}, options
    )

    assert second.to_dict() == first.to_dict()
    assert second.last_response is not None
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    assert len(_events_of(sandbox, "charge.captured")) == 1


def test_capture_updates_metadata_and_expands_the_charge(
    stripe_client: stripe.StripeClient,
) -> None:
    intent = _authorized(stripe_client)

    captured = stripe_client.v1.payment_intents.capture(
        intent.id, {"metadata": {"shipment": "box-1"}, "expand": ["latest_charge"]}
    )

    assert captured.metadata.to_dict() == {**intent.metadata.to_dict(), "shipment": "box-1"}
    assert isinstance(captured.latest_charge, stripe.Charge)
    assert captured.latest_charge.captured is True


def test_refunding_an_uncaptured_charge_is_refused(stripe_client: stripe.StripeClient) -> None:
    intent = _authorized(stripe_client)

    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.refunds.create({"charge": str(intent.latest_charge)})

    assert raised.value.http_status == 400
    assert "cancel the PaymentIntent" in str(raised.value.user_message)


def test_cancelling_an_authorized_intent_voids_the_authorization(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)

    canceled = stripe_client.v1.payment_intents.cancel(
        intent.id, {"cancellation_reason": "requested_by_customer"}
    )

    assert (canceled.status, canceled.amount_capturable) == ("canceled", 0)
    assert canceled.cancellation_reason == "requested_by_customer"
    charge = stripe_client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.captured, charge.refunded, charge.amount_refunded) == (False, True, 5000)
    assert _event_types(sandbox, intent.id)[-1] == "payment_intent.canceled"
    assert _event_types(sandbox, charge.id)[-1] == "charge.refunded"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(intent.id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_an_authorization_expires_when_the_clock_passes_seven_days(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)

    before = sandbox.control("POST", "/clock/advance", json={"seconds": 7 * DAY - 60})
    after = sandbox.control("POST", "/clock/advance", json={"seconds": 120})

    assert before["expired_payment_intents"] == []
    assert after["expired_payment_intents"] == [intent.id]
    expired = stripe_client.v1.payment_intents.retrieve(intent.id)
    assert (expired.status, expired.cancellation_reason) == ("canceled", "automatic")
    assert expired.amount_capturable == 0
    charge = stripe_client.v1.charges.retrieve(str(intent.latest_charge))
    assert (charge.captured, charge.refunded, charge.amount_refunded) == (False, True, 5000)
    assert _event_types(sandbox, charge.id)[-1] == "charge.expired"
    assert _event_types(sandbox, intent.id)[-1] == "payment_intent.canceled"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_client.v1.payment_intents.capture(intent.id)
    assert raised.value.code == "payment_intent_unexpected_state"


def test_a_checkout_session_with_manual_capture_completes_unpaid(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    session = stripe_client.v1.checkout.sessions.create(
        {
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
            "payment_intent_data": {"capture_method": "manual"},
            "success_url": "https://shop.example/paid",
        }
    )

    paid = httpx.post(str(session.url), data={"action": "pay"}, timeout=10)

    assert paid.status_code == 303
    completed = stripe_client.v1.checkout.sessions.retrieve(session.id)
    assert (completed.status, completed.payment_status) == ("complete", "unpaid")
    intent = stripe_client.v1.payment_intents.retrieve(str(completed.payment_intent))
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 1500)


@pytest.fixture
def global_stripe(sandbox: Sandbox) -> Iterator[None]:
    """stripe-python's module-level configuration, pointed at the sandbox for one test."""
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    stripe.api_key, stripe.api_base = "sk_test_sandbox_key", sandbox.stripe_base
    stripe.max_network_retries = 0
    yield
    stripe.api_key, stripe.api_base, stripe.max_network_retries = saved


@pytest.mark.usefixtures("global_stripe")
def test_the_module_level_sdk_creates_and_captures_a_manual_intent() -> None:
    intent = stripe.PaymentIntent.create(
        amount=4000,
        currency="usd",
        capture_method="manual",
        payment_method="pm_card_visa",
        confirm=True,
    )
    key = unique("capture")

    captured = stripe.PaymentIntent.capture(intent.id, amount_to_capture=2500, idempotency_key=key)
    replayed = stripe.PaymentIntent.capture(intent.id, amount_to_capture=2500, idempotency_key=key)

    assert intent.status == "requires_capture"
    assert (captured.status, captured.amount_received) == ("succeeded", 2500)
    assert replayed.id == captured.id
    assert replayed.amount_received == 2500


def test_an_uncaptured_charge_cannot_be_disputed(
    stripe_client: stripe.StripeClient, sandbox: Sandbox
) -> None:
    intent = _authorized(stripe_client)

    answer = httpx.post(
        f"{sandbox.url}/_sandbox/stripe/charges/{intent.latest_charge}/dispute", json={}
    )

    assert answer.status_code == 400
    assert "not captured" in answer.json()["error"]
    assert stripe_client.v1.charges.retrieve(str(intent.latest_charge)).disputed is False
