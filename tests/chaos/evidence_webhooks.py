"""Webhooks: every accepted provider event (the inbox) had its effect at most once.

Events a webhook caused carry its id (``provider_event_id``, set from the inbox row's
``event_id`` by ``Origin.webhook``). One provider event may legitimately cause several
events (a ``charge.refunded`` settling two refunds, a paid session closing and capturing),
so an effect is keyed by what it changes: the aggregate, the event class and its subject
(refund, charge, session, dispute). The same key caused twice by one provider event is an
event applied twice.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain import Order, Payment
from projections.schema import InboxStatus, webhook_inbox
from tests.chaos.evidence_log import LogFacts
from tests.chaos.evidence_model import Findings
from tests.chaos.evidence_views import table_exists

# What an event changes, beyond its aggregate: the first of these it has.
SUBJECTS = ("refund_id", "gateway_refund_id", "session_id", "dispute_id", "gateway_payment_id")
# Effects that must happen once per subject whatever caused them (money counted twice).
ONCE = (
    Payment.Succeeded,
    Payment.ExtraChargeRecorded,
    Payment.ExternalRefundRecorded,
    Order.Confirmed,
)


def _effect(event: Any) -> tuple[str, str, str]:
    subject = next(
        (str(getattr(event, name)) for name in SUBJECTS if getattr(event, name, None)), ""
    )
    status = getattr(event, "status", None) or getattr(event, "dispute_status", None) or ""
    return (str(event.originator_id), type(event).__qualname__, f"{subject}:{status}")


def check_webhooks(facts: LogFacts, conn: Connection, findings: Findings) -> None:
    if not table_exists(conn, webhook_inbox.name):
        findings.add("evidence.missing_table", webhook_inbox.name, "the webhook inbox is gone")
        return
    c = webhook_inbox.c
    rows = conn.execute(
        sa.select(c.provider, c.event_id, c.status, c.next_attempt_at, c.attempts, c.last_error)
    ).all()
    findings.count("webhooks", len(rows))
    for (provider, event_id), n in Counter((r.provider, r.event_id) for r in rows).items():
        if n > 1:
            findings.add("webhooks.duplicate_row", f"{provider}:{event_id}", f"{n} inbox rows")
    for row in rows:
        if row.status == InboxStatus.FAILED and row.next_attempt_at is None:
            findings.add(
                "webhooks.abandoned",
                f"{row.provider}:{row.event_id}",
                f"given up after {row.attempts} tries: {row.last_error}",
            )
    accepted = {row.event_id for row in rows}
    caused: Counter[tuple[str, tuple[str, str, str]]] = Counter()
    once: Counter[tuple[str, str, str]] = Counter()
    for logged in facts.of_type(Payment.Event, Order.Event):
        event = logged.event
        if isinstance(event, ONCE):
            once[_effect(event)] += 1
        cause = getattr(event, "provider_event_id", None)
        if not cause:
            continue
        caused[(cause, _effect(event))] += 1
        if cause not in accepted:
            findings.add(
                "webhooks.unknown_cause",
                event.originator_id,
                f"{type(event).__qualname__} at {logged.position} names provider event "
                f"{cause}, which the inbox never accepted",
            )
    for (cause, (originator, kind, subject)), n in caused.items():
        if n > 1:
            findings.add(
                "webhooks.applied_twice", originator, f"{kind} {subject} {n} times by {cause}"
            )
    for (originator, kind, subject), n in once.items():
        if n > 1:
            findings.add("webhooks.applied_twice", originator, f"{kind} {subject} {n} times")
