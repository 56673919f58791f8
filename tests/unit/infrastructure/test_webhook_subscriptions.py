"""The event types a provider's endpoint is subscribed to: what the engine acts on, and
what `run` subscribes the built-in sandbox to."""

from __future__ import annotations

import pytest

from entrypoints.embedded.providers import sandbox_wiring
from infrastructure.settings import Settings
from infrastructure.webhooks.applier import HANDLERS, subscribed_event_types
from infrastructure.webhooks.events import Ignore


@pytest.mark.parametrize("provider", sorted(HANDLERS))
def test_every_type_the_engine_acts_on_is_subscribed_and_no_ignored_one(provider: str) -> None:
    subscribed = set(subscribed_event_types(provider))

    for kind, handler in HANDLERS[provider].items():
        assert (kind in subscribed) is not isinstance(handler, Ignore), kind


def test_the_money_events_are_among_them() -> None:
    stripe, razorpay = subscribed_event_types("stripe"), subscribed_event_types("razorpay")

    assert {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.amount_capturable_updated",
        "checkout.session.completed",
        "charge.refunded",
        "charge.dispute.created",
    } <= set(stripe)
    assert "payment_intent.created" not in stripe
    assert {"payment.authorized", "payment.captured", "order.paid", "refund.processed"} <= set(
        razorpay
    )


def test_run_subscribes_the_sandbox_as_an_operator_subscribes_a_real_endpoint() -> None:
    wiring = sandbox_wiring(Settings(), "http://127.0.0.1:8000")
    assert wiring is not None
    arguments = wiring.arguments

    for provider in ("stripe", "razorpay"):
        option = arguments.index(f"--{provider}-webhook-events")
        assert arguments[option + 1].split(",") == subscribed_event_types(provider)
