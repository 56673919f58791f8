"""The one eventsourcing Application of the engine (adr/0003).

Orders, payments, stock and catalog products share one events table, so a
command's writes across aggregates are one transaction, and the notification
log is a single, commit-ordered outbox that the relay and projections follow.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar
from uuid import UUID

import structlog
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import MutableOrImmutableAggregate

from domain import Payment, Stock

A = TypeVar("A")

log = structlog.get_logger(__name__)


class CheckoutApplication(Application[UUID]):
    name = "checkout"  # table names: checkout_events, checkout_snapshots
    # A busy sku collects a reservation and a release or commit per order; snapshots
    # keep loading it cheap however long its history gets. Its state is counts (adr/0021),
    # so a snapshot is the same few hundred bytes however many orders are open: a load
    # reads it and at most 49 events, and a snapshot (a reload and a write) every 50
    # events costs each save little.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        Stock: 50,
        # Payments grow with attempts, refunds, sessions and disputes (a long-lived one,
        # retried and refunded in parts, reaches dozens of events).
        Payment: 20,
    }

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshots are taken after the commit: one that fails must not look like a failed
        save, or a caller would decide again and record twice. A snapshot only speeds up
        loading, so a failure is logged and the next one is taken at the next interval."""
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            log.exception("snapshot not taken after a committed save")

    def head_position(self) -> int:
        """The notification id of the last committed event (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def load(self, kind: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        """A typed `repository.get`: raises AggregateNotFoundError if absent."""
        aggregate: object = self.repository.get(aggregate_id, version=version)
        if not isinstance(aggregate, kind):
            raise TypeError(
                f"{aggregate_id} is a {type(aggregate).__name__}, not a {kind.__name__}"
            )
        return aggregate
