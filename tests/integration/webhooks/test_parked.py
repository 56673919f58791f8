"""Operators and the inbox: a parked webhook is replayed once its cause is fixed, another is
dismissed on record, and neither happens to a row that is applied, dismissed or leased."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.checkout import Placed
from application.errors import IdempotencyConflict
from application.parked_webhooks import (
    Handled,
    ListedStatus,
    WebhookAlreadyApplied,
    WebhookBeingApplied,
    WebhookDismissed,
    WebhookNotFound,
)
from domain import OrderStatus, OutOfBounds
from infrastructure.webhooks.applier import WebhookApplier
from infrastructure.webhooks.events import Applied, ProviderEvent, WebhookEffects
from infrastructure.webhooks.inbox import InboxStatus, WebhookInbox
from infrastructure.webhooks.parked import InboxOperations, encode_cursor
from infrastructure.webhooks.sweeper import InboxSweeper
from projections.queries import InvalidCursor
from projections.queries import encode_cursor as orders_cursor
from projections.schema import webhook_inbox
from tests.integration.shop import Shop
from tests.integration.webhooks.conftest import Delivered, Provider
from tests.waiting import wait_until

ANN = "admin:ann"


@pytest.fixture
def operations(db: Engine, applier: WebhookApplier, inbox: WebhookInbox) -> InboxOperations:
    """On the applier the ``provider`` fixture delivers through, as the API's is."""
    return InboxOperations(db, applier, inbox.lease_seconds)


def _capture_before_the_view_knows(provider: Provider, shop: Shop) -> tuple[Placed, Delivered]:
    """A Razorpay capture of an order the payments view has not projected yet: failed."""
    placed = shop.buy("razorpay")
    provider.open_at_provider(placed, "order_Early")
    payment = placed.payment
    captured = {"id": "pay_Early", "order_id": "order_Early", "notes": []}
    money = {"amount": payment.amount, "currency": payment.currency}
    delivered = provider.razorpay("payment.captured", payment=captured | money)
    assert delivered.status is InboxStatus.FAILED
    return placed, delivered


def _due_failure(provider: Provider, inbox: WebhookInbox) -> int:
    """A failed row due for its next try now (transient: an unknown Razorpay order)."""
    payment = {"id": "pay_X", "order_id": "order_Unknown", "amount": 100, "currency": "INR"}
    delivered = provider.razorpay("payment.captured", payment=payment)
    assert delivered.status is InboxStatus.FAILED
    with inbox.db.begin() as conn:
        conn.execute(
            sa.update(webhook_inbox)
            .where(webhook_inbox.c.id == delivered.entry.id)
            .values(next_attempt_at=sa.func.now())
        )
    return delivered.entry.id


def test_a_failed_webhook_is_listed_then_replayed_after_its_cause_is_fixed(
    provider: Provider, shop: Shop, operations: InboxOperations
) -> None:
    placed, delivered = _capture_before_the_view_knows(provider, shop)

    [listed], _ = operations.list(ListedStatus.FAILED, 10, None)
    assert (listed.id, listed.provider, listed.event_type) == (
        delivered.entry.id,
        "razorpay",
        "payment.captured",
    )
    assert listed.error is not None
    assert listed.error.startswith("PaymentNotYetKnown")
    assert '"pay_Early"' in listed.body
    assert operations.list(ListedStatus.PENDING, 10, None) == ([], None)

    provider.project_payments()  # the cause: the view catches up with the order
    replayed = operations.replay(listed.id, ANN, "the view caught up", "k1")

    assert not replayed.repeated
    webhook = replayed.webhook
    assert (webhook.status, webhook.attempts) == ("processed", listed.attempts + 1)
    assert webhook.replayed is not None
    assert (webhook.replayed.by, webhook.replayed.reason) == (ANN, "the view caught up")
    assert shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    assert operations.list(ListedStatus.FAILED, 10, None) == ([], None)


def test_a_repeated_replay_answers_the_first_and_an_applied_row_is_refused(
    provider: Provider, shop: Shop, operations: InboxOperations
) -> None:
    placed, delivered = _capture_before_the_view_knows(provider, shop)
    provider.project_payments()
    first = operations.replay(delivered.entry.id, ANN, None, "k1")

    again = operations.replay(delivered.entry.id, ANN, None, "k1")

    assert again.repeated
    assert again.webhook == first.webhook, "nothing applied, nothing recorded again"
    with pytest.raises(IdempotencyConflict):
        operations.replay(delivered.entry.id, ANN, "another reason", "k1")
    with pytest.raises(WebhookAlreadyApplied, match="processed"):
        operations.replay(delivered.entry.id, ANN, None, "k2")
    with pytest.raises(WebhookAlreadyApplied):
        operations.dismiss(delivered.entry.id, ANN, "too late", "k3")
    assert shop.payment(placed).gateway_payment_id == "pay_Early"


def test_a_replay_whose_cause_remains_fails_again_on_record(
    provider: Provider, shop: Shop, operations: InboxOperations
) -> None:
    _, delivered = _capture_before_the_view_knows(provider, shop)

    replayed = operations.replay(delivered.entry.id, "cli:bob", None, None).webhook

    assert replayed.status == "failed"
    assert replayed.attempts == delivered.entry.attempts + 1
    assert replayed.error is not None
    assert replayed.error.startswith("PaymentNotYetKnown")
    assert replayed.replayed is not None
    assert replayed.replayed.by == "cli:bob"


def test_a_dismissed_webhook_is_never_retried_and_names_who_and_why(
    provider: Provider, inbox: WebhookInbox, applier: WebhookApplier, operations: InboxOperations
) -> None:
    webhook_id = _due_failure(provider, inbox)

    dismissed = operations.dismiss(webhook_id, ANN, "a test order from the dashboard", "k1")

    assert not dismissed.repeated
    assert dismissed.webhook.status == "dismissed"
    assert dismissed.webhook.next_attempt_at is None
    decision = dismissed.webhook.dismissed
    assert decision is not None
    assert (decision.by, decision.reason) == (ANN, "a test order from the dashboard")
    assert not InboxSweeper(inbox, applier).sweep_one(), "the sweeper never takes it"
    [listed], _ = operations.list(ListedStatus.DISMISSED, 10, None)
    assert listed == dismissed.webhook
    assert operations.list(ListedStatus.FAILED, 10, None) == ([], None)


def test_dismissing_twice_answers_the_first_only_for_the_same_key_and_reason(
    provider: Provider, inbox: WebhookInbox, operations: InboxOperations
) -> None:
    webhook_id = _due_failure(provider, inbox)
    first = operations.dismiss(webhook_id, ANN, "a test event", "k1")

    again = operations.dismiss(webhook_id, "admin:other", "a test event", "k1")

    assert again.repeated
    assert again.webhook == first.webhook, "still the first actor on record"
    with pytest.raises(IdempotencyConflict):
        operations.dismiss(webhook_id, ANN, "another reason", "k1")
    with pytest.raises(WebhookDismissed, match=ANN):
        operations.dismiss(webhook_id, ANN, "a test event", "k2")
    with pytest.raises(WebhookDismissed):
        operations.dismiss(webhook_id, "cli:bob", "a test event", None)
    with pytest.raises(WebhookDismissed):
        operations.replay(webhook_id, ANN, None, "k3")
    assert operations.get(webhook_id) == first.webhook


def test_a_leased_row_is_neither_replayed_nor_dismissed(
    inbox: WebhookInbox, operations: InboxOperations
) -> None:
    # Recorded by an API that is applying it right now (its lease runs).
    entry = inbox.accept("stripe", "evt_leased", "charge.succeeded", b"{}", {}).entry

    with pytest.raises(WebhookBeingApplied):
        operations.replay(entry.id, ANN, None, "k1")
    with pytest.raises(WebhookBeingApplied):
        operations.dismiss(entry.id, ANN, "not now", "k2")

    row = operations.get(entry.id)
    assert (row.status, row.attempts, row.replayed, row.dismissed) == ("received", 1, None, None)
    assert inbox.settle(entry, InboxStatus.IGNORED, "its applier still holds it")


def test_a_row_whose_applier_died_is_replayed_once_its_lease_ran_out(
    db: Engine, inbox: WebhookInbox, operations: InboxOperations
) -> None:
    body = b'{"id": "evt_orphan", "type": "customer.created", "data": {"object": {}}}'
    entry = inbox.accept("stripe", "evt_orphan", "customer.created", body, {}).entry
    with db.begin() as conn:  # the API process that recorded it died: its lease expires
        conn.execute(sa.update(webhook_inbox).values(lease_until=sa.func.now()))

    replayed = operations.replay(entry.id, ANN, "the API died", "k1").webhook

    assert (replayed.status, replayed.attempts) == ("ignored", 2)
    assert replayed.outcome == "no handler for customer.created"
    assert not inbox.settle(entry, InboxStatus.PROCESSED, "the dead API's late settle")


def test_while_a_replay_applies_a_row_nobody_else_can_take_it(
    db: Engine, inbox: WebhookInbox, applier: WebhookApplier, operations: InboxOperations
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(event: ProviderEvent, effects: WebhookEffects) -> Applied:
        started.set()
        assert release.wait(10), "the test never released the replay"
        return Applied(InboxStatus.IGNORED, "applied by the first replay")

    applier.handlers["stripe"]["test.slow"] = slow
    entry = inbox.accept("stripe", "evt_slow", "test.slow", b"{}", {}).entry
    assert inbox.fail(entry, "boom", retry_in=0.0)  # due again at once
    answers: list[Handled] = []
    first = threading.Thread(
        target=lambda: answers.append(operations.replay(entry.id, ANN, None, "a"))
    )
    first.start()
    try:
        wait_until(started.is_set, what="the first replay to be applying the row")
        with pytest.raises(WebhookBeingApplied):
            operations.replay(entry.id, "admin:bob", None, "b")
        with pytest.raises(WebhookBeingApplied):
            operations.replay(entry.id, ANN, None, "a")  # its own key, still applying
        with pytest.raises(WebhookBeingApplied):
            operations.dismiss(entry.id, "admin:bob", "stop it", "c")
        assert not InboxSweeper(inbox, applier).sweep_one(), "the replay holds the lease"
    finally:
        release.set()
        first.join(timeout=10)
    [answer] = answers
    assert (answer.webhook.status, answer.webhook.attempts) == ("ignored", 2)
    assert answer.webhook.outcome == "applied by the first replay"
    assert operations.get(entry.id).dismissed is None


def test_bad_requests_change_nothing(
    provider: Provider, inbox: WebhookInbox, operations: InboxOperations
) -> None:
    webhook_id = _due_failure(provider, inbox)
    before = operations.get(webhook_id)

    with pytest.raises(WebhookNotFound):
        operations.replay(webhook_id + 1000, ANN, None, "k1")
    with pytest.raises(WebhookNotFound):
        operations.dismiss(webhook_id + 1000, ANN, "why", "k1")
    with pytest.raises(OutOfBounds, match="reason"):
        operations.dismiss(webhook_id, ANN, "   ", "k1")
    with pytest.raises(OutOfBounds, match="reason"):
        operations.dismiss(webhook_id, ANN, "x" * 501, "k1")
    with pytest.raises(OutOfBounds, match="actor"):
        operations.replay(webhook_id, "ann", None, "k1")

    assert operations.get(webhook_id) == before


def test_the_listing_pages_newest_first_with_a_cursor_of_its_own(
    inbox: WebhookInbox, operations: InboxOperations
) -> None:
    ids = [
        inbox.accept("stripe", f"evt_{n}", "charge.succeeded", b"{}", {}).entry.id for n in range(5)
    ]

    first, cursor = operations.list(None, 2, None)
    assert cursor is not None
    second, cursor = operations.list(None, 2, cursor)
    assert cursor is not None
    third, last = operations.list(None, 2, cursor)

    assert [w.id for w in first + second + third] == ids[::-1]
    assert last is None
    pending, _ = operations.list(ListedStatus.PENDING, 10, None)
    assert len(pending) == 5
    for foreign in ("nonsense", orders_cursor(pending[0].received_at, uuid.uuid4()), "W10"):
        with pytest.raises(InvalidCursor):
            operations.list(None, 2, foreign)
    assert operations.list(None, 10, encode_cursor(ids[0])) == ([], None)
