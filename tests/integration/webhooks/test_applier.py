"""Applying inbox rows: outcomes recorded, transient failures retried, refusals parked."""

from __future__ import annotations

import threading

from application.application import CheckoutApplication
from application.checkout import Placed
from application.refunds import Refunds
from domain import OrderStatus, PaymentStatus
from infrastructure.webhooks.applier import WebhookApplier
from infrastructure.webhooks.events import Applied, ProviderEvent, WebhookEffects
from infrastructure.webhooks.inbox import InboxStatus, WebhookInbox
from infrastructure.webhooks.sweeper import InboxSweeper
from tests.integration.shop import Shop
from tests.integration.webhooks.conftest import Provider
from tests.waiting import wait_until


def _intent(placed: Placed, intent_id: str) -> dict[str, object]:
    """A succeeded intent for exactly the payment's amount (USD: Stripe units = minor)."""
    return {
        "id": intent_id,
        "object": "payment_intent",
        "metadata": {"paymentId": str(placed.payment.id)},
        "amount": placed.payment.amount,
        "amount_received": placed.payment.amount,
        "currency": placed.payment.currency.lower(),
    }


def test_event_types_without_a_handler_are_ignored_on_record(provider: Provider) -> None:
    delivered = provider.stripe("customer.created", {"id": "cus_1"})

    assert delivered.status is InboxStatus.IGNORED
    assert delivered.entry.outcome == "no handler for customer.created"


def test_events_for_payments_the_engine_does_not_know_are_retried_then_parked(
    provider: Provider, inbox: WebhookInbox, applier: WebhookApplier
) -> None:
    # A Razorpay order the engine has not recorded (yet): its view may lag the worker.
    payment = {"id": "pay_1", "order_id": "order_Unknown", "amount": 100, "currency": "INR"}
    delivered = provider.razorpay("payment.captured", payment=payment)

    assert delivered.status is InboxStatus.FAILED
    assert delivered.entry.last_error is not None
    assert "PaymentNotYetKnown" in delivered.entry.last_error
    sweeper = InboxSweeper(inbox, applier)
    retried = wait_until(sweeper.sweep_one, what="the first retry")
    assert retried
    assert wait_until(sweeper.sweep_one, what="the second retry")
    parked = inbox.get("razorpay", delivered.entry.event_id)
    assert parked is not None
    assert parked.attempts == 3  # FAST_RETRY.max_attempts
    assert parked.status is InboxStatus.FAILED
    assert not sweeper.sweep_one(), "no more tries once they are used up"


def test_an_event_that_contradicts_the_engine_is_parked_at_once(
    provider: Provider, shop: Shop, inbox: WebhookInbox
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_first")
    assert provider.stripe("payment_intent.succeeded", _intent(placed, "pi_first"))
    refunds = Refunds(shop.app)
    refund = refunds.request(placed.order.id, 100, "damaged", "admin:t", "k1")
    refunds.failed(placed.payment.id, refund.refund_id, "declined by the bank")
    metadata = {"paymentId": str(placed.payment.id), "refundId": refund.refund_id}

    # The provider now says the refund the engine recorded as failed succeeded.
    contradiction = provider.stripe(
        "refund.updated", {"id": "re_1", "status": "succeeded", "metadata": metadata}
    )

    assert contradiction.status is InboxStatus.FAILED
    assert contradiction.entry.last_error is not None
    assert contradiction.entry.last_error.startswith("InvalidTransition")
    assert inbox.claim() is None, "a refusal is not retried: an operator decides"


def test_a_second_capture_is_recorded_and_its_refund_requested_not_parked(
    provider: Provider, shop: Shop
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_first")
    provider.stripe("payment_intent.succeeded", _intent(placed, "pi_first"))

    second = provider.stripe("payment_intent.succeeded", _intent(placed, "pi_second"))

    assert second.status is InboxStatus.PROCESSED
    assert second.entry.outcome is not None
    assert "refund duplicate:pi_second requested" in second.entry.outcome
    payment = shop.payment(placed)
    assert payment.gateway_payment_id == "pi_first"
    assert payment.refunds["duplicate:pi_second"]["charge"] == "pi_second"


def test_the_sweeper_applies_an_event_whose_first_try_failed(
    provider: Provider,
    shop: Shop,
    app: CheckoutApplication,
    inbox: WebhookInbox,
    applier: WebhookApplier,
) -> None:
    placed = shop.buy("stripe")
    provider.open_at_provider(placed, "pi_1")
    real = applier.handlers["stripe"]["payment_intent.succeeded"]
    failures = iter([TimeoutError("lock timeout")])

    def flaky(event: ProviderEvent, effects: WebhookEffects) -> Applied:
        for failure in failures:
            raise failure
        return real(event, effects)

    applier.handlers["stripe"]["payment_intent.succeeded"] = flaky
    delivered = provider.stripe("payment_intent.succeeded", _intent(placed, "pi_1"))
    assert delivered.status is InboxStatus.FAILED
    assert shop.order(placed).status is OrderStatus.PENDING_PAYMENT

    stop = threading.Event()
    sweeper = threading.Thread(
        target=InboxSweeper(inbox, applier, interval_seconds=0.02).run_forever, args=(stop,)
    )
    sweeper.start()
    try:
        wait_until(
            lambda: shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED,
            what="the sweeper to apply the event",
        )
    finally:
        stop.set()
        sweeper.join(timeout=10)
    entry = inbox.get("stripe", delivered.entry.event_id)
    assert entry is not None
    assert entry.status is InboxStatus.PROCESSED
    assert entry.attempts == 2
    assert entry.last_error == "TimeoutError: lock timeout"
    assert shop.payment(placed).status is PaymentStatus.SUCCEEDED
