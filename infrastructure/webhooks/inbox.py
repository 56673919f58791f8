"""The webhook inbox: every verified provider event, kept raw, exactly once per event id.

A row is inserted when a signed request arrives (``ON CONFLICT DO NOTHING`` on
``(provider, event_id)``, so a redelivery changes nothing) and holds the body as the
provider sent it, byte for byte. Whoever applies a row holds a lease on it, as in the
provider task queue (both are leased queues, infrastructure.leased_queue): an applier whose
lease ran out cannot settle a row another one has claimed since.

Statuses: ``received`` (not applied yet), ``processed`` (a use case took it),
``ignored`` (nothing for the engine to do), ``failed`` (the last try raised; tried again at
``next_attempt_at``, or never again when that is NULL, until an operator replays it),
``dismissed`` (an operator decided it is never applied). What operators do to a row is
infrastructure.webhooks.parked (adr/0025).
The table is described in projections.schema, with every table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine, RowMapping

from infrastructure.leased_queue import LeasedQueue, from_now
from projections.schema import InboxStatus, webhook_inbox

__all__ = [
    "SETTLED",
    "Accepted",
    "InboxEntry",
    "InboxStatus",
    "WebhookInbox",
    "webhook_inbox",
]

SETTLED = frozenset({InboxStatus.PROCESSED, InboxStatus.IGNORED})
WAITING = (InboxStatus.RECEIVED, InboxStatus.FAILED)


_c = webhook_inbox.c


@dataclass(frozen=True)
class InboxEntry:
    id: int
    provider: str
    event_id: str
    event_type: str
    body: bytes
    status: InboxStatus
    attempts: int
    last_error: str | None = None
    outcome: str | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> InboxEntry:
        return cls(
            id=row["id"],
            provider=row["provider"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            body=bytes(row["body"]),
            status=InboxStatus(row["status"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
            outcome=row["outcome"],
        )


@dataclass(frozen=True)
class Accepted:
    """The row of a delivery; ``entry`` is leased to the caller unless it is a duplicate."""

    entry: InboxEntry
    duplicate: bool


class WebhookInbox:
    def __init__(self, db: Engine, lease_seconds: float = 30.0) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self._queue = LeasedQueue(
            db,
            webhook_inbox,
            waiting=[status.value for status in WAITING],
            finished=sorted(status.value for status in SETTLED),
            finished_at=_c.processed_at,
            order=[_c.next_attempt_at, _c.id],
        )

    def accept(
        self,
        provider: str,
        event_id: str,
        event_type: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> Accepted:
        """Record a verified delivery, leased to the caller to apply it at once.

        A delivery of an event already in the inbox inserts nothing and is returned as a
        duplicate, with the row as it stands (not leased: its first delivery owns it).
        """
        statement = (
            insert(webhook_inbox)
            .values(
                provider=provider,
                event_id=event_id,
                event_type=event_type,
                body=body,
                headers=dict(headers),
                attempts=1,
                next_attempt_at=sa.func.now(),
                lease_until=from_now(self.lease_seconds),
            )
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(*webhook_inbox.c)
        )
        existing = sa.select(webhook_inbox).where(_c.provider == provider, _c.event_id == event_id)
        with self.db.begin() as conn:
            row = conn.execute(statement).mappings().first()
            if row is not None:
                return Accepted(InboxEntry.from_row(row), duplicate=False)
            found = conn.execute(existing).mappings().one()
        return Accepted(InboxEntry.from_row(found), duplicate=True)

    def claim(self) -> InboxEntry | None:
        """Lease the row that has waited longest for another try; None when none is due."""
        row = self._queue.claim(self.lease_seconds)
        return None if row is None else InboxEntry.from_row(row)

    def settle(self, entry: InboxEntry, status: InboxStatus, outcome: str) -> bool:
        """Processed or ignored for good; False if the lease was lost meanwhile."""
        return self._queue.settle(
            entry,
            status=status.value,
            outcome=outcome,
            processed_at=sa.func.now(),
            next_attempt_at=None,
        )

    def fail(self, entry: InboxEntry, error: str, retry_in: float | None) -> bool:
        """Record the error; try again in ``retry_in`` seconds, or never (None)."""
        return self._queue.retry(entry, retry_in, status=InboxStatus.FAILED.value, last_error=error)

    def replay(self, provider: str, event_id: str) -> bool:
        """An operator's "apply this failed event again now"; False if it is not failed."""
        statement = (
            sa.update(webhook_inbox)
            .where(
                _c.provider == provider,
                _c.event_id == event_id,
                _c.status == InboxStatus.FAILED.value,
            )
            .values(next_attempt_at=sa.func.now())
        )
        with self.db.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def get(self, provider: str, event_id: str) -> InboxEntry | None:
        query = sa.select(webhook_inbox).where(_c.provider == provider, _c.event_id == event_id)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else InboxEntry.from_row(row)

    def entries(self, provider: str | None = None) -> list[InboxEntry]:
        """Every row, oldest first (for operators and tests)."""
        query = sa.select(webhook_inbox).order_by(_c.id)
        if provider is not None:
            query = query.where(_c.provider == provider)
        with self.db.connect() as conn:
            return [InboxEntry.from_row(row) for row in conn.execute(query).mappings()]

    def prune(self, older_than: timedelta, batch: int = 1000) -> int:
        """Delete up to ``batch`` settled rows applied more than ``older_than`` ago.

        Failed and unapplied rows stay for operators. A pruned event, if ever delivered
        again, is applied again: every use case is idempotent (the aggregates dedupe).
        """
        return self._queue.prune(older_than, batch)

    def census(self) -> dict[tuple[str, InboxStatus], int]:
        """Rows by provider and status; empty before any process created the table."""
        census = self._queue.census(_c.provider)
        return {
            (provider, InboxStatus(status)): n for (provider, status), n in census.counts.items()
        }
