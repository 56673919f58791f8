"""The inbox: one row per provider event, leased while applied, fenced by attempts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.webhooks.inbox import InboxStatus, WebhookInbox
from projections.schema import webhook_inbox


def test_an_event_is_recorded_once_however_often_it_is_delivered(inbox: WebhookInbox) -> None:
    first = inbox.accept("stripe", "evt_1", "charge.succeeded", b'{"a": 1}', {"X": "1"})
    again = inbox.accept("stripe", "evt_1", "charge.succeeded", b'{"a": 1}', {"X": "1"})
    other_provider = inbox.accept("razorpay", "evt_1", "payment.captured", b"{}", {})

    assert not first.duplicate
    assert first.entry.status is InboxStatus.RECEIVED
    assert first.entry.attempts == 1
    assert again.duplicate
    assert again.entry.id == first.entry.id
    assert not other_provider.duplicate
    assert [e.event_id for e in inbox.entries("stripe")] == ["evt_1"]
    assert inbox.entries("stripe")[0].body == b'{"a": 1}'


def test_a_leased_row_is_not_claimed_until_its_lease_runs_out(
    db: Engine, inbox: WebhookInbox
) -> None:
    accepted = inbox.accept("stripe", "evt_1", "charge.succeeded", b"{}", {})
    assert inbox.claim() is None, "the API that recorded it is applying it"

    with db.begin() as conn:  # that API process died: its lease expires
        conn.execute(sa.update(webhook_inbox).values(lease_until=sa.func.now()))

    claimed = inbox.claim()
    assert claimed is not None
    assert claimed.id == accepted.entry.id
    assert claimed.attempts == 2
    # The first applier comes back too late: its settle is fenced off.
    assert not inbox.settle(accepted.entry, InboxStatus.PROCESSED, "late")
    assert inbox.settle(claimed, InboxStatus.PROCESSED, "done")
    settled = inbox.get("stripe", "evt_1")
    assert settled is not None
    assert settled.status is InboxStatus.PROCESSED
    assert settled.outcome == "done"
    assert inbox.claim() is None


def test_failed_rows_come_back_when_due_and_can_be_replayed_after_giving_up(
    inbox: WebhookInbox,
) -> None:
    entry = inbox.accept("stripe", "evt_1", "charge.succeeded", b"{}", {}).entry
    assert inbox.fail(entry, "boom", retry_in=0.0)
    retried = inbox.claim()
    assert retried is not None
    assert retried.last_error == "boom"

    assert inbox.fail(retried, "boom again", retry_in=None)
    assert inbox.claim() is None, "given up: waits for an operator"
    assert inbox.replay("stripe", "evt_1")
    replayed = inbox.claim()
    assert replayed is not None
    assert replayed.attempts == 3
    assert not inbox.replay("stripe", "evt_unknown")


def test_the_census_counts_rows_by_provider_and_status(inbox: WebhookInbox) -> None:
    entry = inbox.accept("stripe", "evt_1", "charge.succeeded", b"{}", {}).entry
    inbox.settle(entry, InboxStatus.IGNORED, "not needed")
    inbox.accept("razorpay", "evt_2", "payment.captured", b"{}", {})

    assert inbox.census() == {
        ("stripe", InboxStatus.IGNORED): 1,
        ("razorpay", InboxStatus.RECEIVED): 1,
    }
