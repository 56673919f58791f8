"""The webhook inbox: every verified provider event, kept raw, exactly once per event id.

A row is inserted when a signed request arrives (``ON CONFLICT DO NOTHING`` on
``(provider, event_id)``, so a redelivery changes nothing) and holds the body as the
provider sent it, byte for byte. Whoever applies a row holds a lease on it; ``attempts``
is the lease's fencing token, as in the provider task queue: an applier whose lease ran
out cannot settle a row another one has claimed since.

Statuses: ``received`` (not applied yet), ``processed`` (a use case took it),
``ignored`` (nothing for the engine to do), ``failed`` (the last try raised; tried again at
``next_attempt_at``, or never again when that is NULL, until an operator replays it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.engine import Engine, RowMapping

from projections.migrations import upgrade_database
from projections.schema import new_metadata


class InboxStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


SETTLED = frozenset({InboxStatus.PROCESSED, InboxStatus.IGNORED})


def _timestamp(name: str, nullable: bool = True, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


metadata = new_metadata()
webhook_inbox = sa.Table(
    "webhook_inbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    _timestamp("received_at", nullable=False, server_default=sa.func.now()),
    sa.Column("status", sa.Text, nullable=False, server_default=InboxStatus.RECEIVED.value),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _timestamp("next_attempt_at"),
    _timestamp("lease_until"),
    sa.Column("last_error", sa.Text),
    sa.Column("outcome", sa.Text),
    _timestamp("processed_at"),
    sa.UniqueConstraint("provider", "event_id"),
    sa.CheckConstraint(
        sa.column("status").in_([s.value for s in InboxStatus]), name="ck_webhook_inbox_status"
    ),
)
_c = webhook_inbox.c
sa.Index(
    "ix_webhook_inbox_due",
    _c.next_attempt_at,
    postgresql_where=_c.status.in_([InboxStatus.RECEIVED.value, InboxStatus.FAILED.value]),
)


def create_inbox_table(db: Engine) -> None:
    """The table comes from the migrations (projections.migrations), as every engine table."""
    upgrade_database(db)


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


_CLAIM = sa.text(
    """
    UPDATE webhook_inbox
       SET lease_until = now() + make_interval(secs => :lease),
           attempts = attempts + 1
     WHERE id = (
           SELECT id FROM webhook_inbox
            WHERE status IN ('received', 'failed')
              AND next_attempt_at <= now()
              AND (lease_until IS NULL OR lease_until < now())
            ORDER BY next_attempt_at, id
            FOR UPDATE SKIP LOCKED
            LIMIT 1)
    RETURNING *
    """
)


class WebhookInbox:
    def __init__(self, db: Engine, lease_seconds: float = 30.0) -> None:
        self.db = db
        self.lease_seconds = lease_seconds

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
        lease = sa.func.now() + timedelta(seconds=self.lease_seconds)
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
                lease_until=lease,
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
        with self.db.begin() as conn:
            row = conn.execute(_CLAIM, {"lease": self.lease_seconds}).mappings().first()
        return None if row is None else InboxEntry.from_row(row)

    def settle(self, entry: InboxEntry, status: InboxStatus, outcome: str) -> bool:
        """Processed or ignored for good; False if the lease was lost meanwhile."""
        return self._update(
            entry,
            status=status.value,
            outcome=outcome,
            processed_at=sa.func.now(),
            next_attempt_at=None,
        )

    def fail(self, entry: InboxEntry, error: str, retry_in: float | None) -> bool:
        """Record the error; try again in ``retry_in`` seconds, or never (None)."""
        retry_at = None if retry_in is None else sa.func.now() + timedelta(seconds=retry_in)
        return self._update(
            entry, status=InboxStatus.FAILED.value, last_error=error, next_attempt_at=retry_at
        )

    def _update(self, entry: InboxEntry, **values: Any) -> bool:
        statement = (
            sa.update(webhook_inbox)
            .where(
                _c.id == entry.id,
                _c.attempts == entry.attempts,
                _c.status.in_([InboxStatus.RECEIVED.value, InboxStatus.FAILED.value]),
            )
            .values(lease_until=None, **values)
        )
        with self.db.begin() as conn:
            return conn.execute(statement).rowcount == 1

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
        doomed = (
            sa.select(_c.id)
            .where(
                _c.status.in_([s.value for s in SETTLED]),
                _c.processed_at < sa.func.now() - older_than,
            )
            .limit(batch)
        )
        with self.db.begin() as conn:
            result = conn.execute(sa.delete(webhook_inbox).where(_c.id.in_(doomed)))
        return int(result.rowcount)

    def census(self) -> dict[tuple[str, InboxStatus], int]:
        """Rows by provider and status; empty before any process created the table."""
        by_status = sa.select(_c.provider, _c.status, sa.func.count()).group_by(
            _c.provider, _c.status
        )
        with self.db.connect() as conn:
            if conn.execute(sa.select(sa.func.to_regclass(webhook_inbox.name))).scalar() is None:
                return {}
            rows = conn.execute(by_status).all()
        return {(provider, InboxStatus(status)): n for provider, status, n in rows}
