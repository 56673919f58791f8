"""The event log as evidence: every notification from the first, decoded once, and the
aggregates folded from it with the library's own ``mutate`` (no snapshots, no views).

Everything the other checks compare against comes from here: what the log says happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.application import CheckoutApplication
from domain import Order, Payment
from domain.foreign_capture import ForeignCapture
from tests.chaos.evidence_model import Findings

PAGE = 1000


@dataclass(frozen=True)
class Logged:
    """One decoded notification: its position in the log and the domain event."""

    position: int
    event: Any


@dataclass
class LogFacts:
    head: int = 0  # the last notification id read
    events: list[Logged] = field(default_factory=list)
    orders: dict[UUID, Order] = field(default_factory=dict)
    payments: dict[UUID, Payment] = field(default_factory=dict)
    confirmations: dict[UUID, Logged] = field(default_factory=dict)  # order id -> Confirmed
    foreign: set[tuple[str, str]] = field(default_factory=set)  # (provider, gateway payment)

    def of_type(self, *kinds: type[Any]) -> Iterator[Logged]:
        return (logged for logged in self.events if isinstance(logged.event, kinds))

    def payment_of(self, order_id: UUID) -> Payment | None:
        return self.payments.get(Payment.id_for(order_id))


def notifications(app: CheckoutApplication, stop: int | None = None) -> Iterator[Any]:
    """Every notification from the first (up to ``stop``), a page at a time."""
    start = 0
    while True:
        page = app.recorder.select_notifications(
            start=start, limit=PAGE, stop=stop, inclusive_of_start=False
        )
        yield from page
        if len(page) < PAGE:
            return
        start = page[-1].id


def read_log(app: CheckoutApplication, findings: Findings) -> LogFacts:
    facts = LogFacts()
    for notification in notifications(app):
        facts.head = notification.id
        try:
            event = app.mapper.to_domain_event(notification)
        except Exception as exc:  # a stored event this release cannot read is itself a finding
            findings.add("log.undecodable", notification.id, f"{notification.topic}: {exc!r}")
            continue
        facts.events.append(Logged(notification.id, event))
    findings.count("events", len(facts.events))
    _fold(facts, findings)
    findings.count("orders", len(facts.orders))
    findings.count("payments", len(facts.payments))
    findings.count("confirmed orders", len(facts.confirmations))
    return facts


def _fold(facts: LogFacts, findings: Findings) -> None:
    """Orders and payments as the log builds them; a broken sequence is a finding."""
    aggregates: dict[UUID, Aggregate | None] = {}
    broken: set[UUID] = set()
    for logged in facts.events:
        event = logged.event
        if isinstance(event, ForeignCapture.Recorded):
            facts.foreign.add((event.provider, event.gateway_payment_id))
        if not isinstance(event, Order.Event | Payment.Event):
            continue
        originator = event.originator_id
        if originator in broken:
            continue
        try:
            aggregates[originator] = event.mutate(aggregates.get(originator))
        except Exception as exc:  # out of sequence, or an event its aggregate refuses
            broken.add(originator)
            findings.add("log.inconsistent", originator, f"at {logged.position}: {exc!r}")
            continue
        if isinstance(event, Order.Confirmed):
            if originator in facts.confirmations:
                findings.add("log.confirmed_twice", originator, f"again at {logged.position}")
            else:
                facts.confirmations[originator] = logged
    for originator, aggregate in aggregates.items():
        if originator in broken:
            continue
        if isinstance(aggregate, Order):
            facts.orders[originator] = aggregate
        elif isinstance(aggregate, Payment):
            facts.payments[originator] = aggregate
