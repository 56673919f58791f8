"""The durable queue of provider calls: one row per call the log says must happen.

Rows are added by the ProviderTasks projection (exactly once, with the log position) and
worked by executors in any number of worker processes. An executor claims a due row by
leasing it in a short transaction (``FOR UPDATE SKIP LOCKED``: claimers never wait on
each other nor take the same row), calls the provider with no transaction open, then
settles the row. ``attempts`` is the lease's fencing token: an executor whose lease ran
out (it hung, or died) cannot settle a row another executor has claimed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Engine, RowMapping

from projections.migrations import upgrade_database
from projections.schema import new_metadata


class TaskKind(StrEnum):
    CREATE_ORDER = "create_order"
    CANCEL = "cancel"
    REFUND = "refund"
    CLOSE_OPEN = "close_open"  # paid: close the payment's other ways to pay


class TaskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def _timestamp(name: str, nullable: bool = False, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, **kwargs)


metadata = new_metadata()
provider_tasks = sa.Table(
    "provider_tasks",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("payment_id", PG_UUID(as_uuid=True), nullable=False),
    sa.Column("order_id", PG_UUID(as_uuid=True)),
    sa.Column("refund_id", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("status", sa.Text, nullable=False, server_default=TaskStatus.PENDING.value),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    _timestamp("next_attempt_at", server_default=sa.func.now()),
    _timestamp("lease_until", nullable=True),
    sa.Column("last_error", sa.Text),
    _timestamp("created_at", server_default=sa.func.now()),
    _timestamp("updated_at", server_default=sa.func.now()),
    sa.CheckConstraint(
        sa.column("kind").in_([k.value for k in TaskKind]), name="ck_provider_tasks_kind"
    ),
    sa.CheckConstraint(
        sa.column("status").in_([s.value for s in TaskStatus]), name="ck_provider_tasks_status"
    ),
)
_c = provider_tasks.c
# One task per call, whatever replays the log: the projection inserts ON CONFLICT DO NOTHING.
sa.Index(
    "uq_provider_tasks_call",
    _c.kind,
    _c.payment_id,
    sa.func.coalesce(_c.refund_id, ""),
    unique=True,
)
sa.Index("ix_provider_tasks_pending", _c.id, postgresql_where=_c.status == "pending")
sa.Index("ix_provider_tasks_payment", _c.payment_id)


def create_task_table(db: Engine) -> None:
    """The table comes from the migrations (projections.migrations), as every engine table."""
    upgrade_database(db)


@dataclass(frozen=True)
class ProviderTask:
    id: int
    kind: TaskKind
    payment_id: UUID
    order_id: UUID | None
    refund_id: str | None
    amount: int | None
    status: TaskStatus
    attempts: int
    last_error: str | None

    @classmethod
    def from_row(cls, row: RowMapping) -> ProviderTask:
        return cls(
            id=row["id"],
            kind=TaskKind(row["kind"]),
            payment_id=row["payment_id"],
            order_id=row["order_id"],
            refund_id=row["refund_id"],
            amount=row["amount"],
            status=TaskStatus(row["status"]),
            attempts=row["attempts"],
            last_error=row["last_error"],
        )


@dataclass(frozen=True)
class TaskCensus:
    due: int
    counts: dict[tuple[TaskKind, TaskStatus], int]


_CLAIM = sa.text(
    """
    UPDATE provider_tasks
       SET lease_until = now() + make_interval(secs => :lease),
           attempts = attempts + 1,
           updated_at = now()
     WHERE id = (
           SELECT id FROM provider_tasks
            WHERE status = 'pending'
              AND next_attempt_at <= now()
              AND (lease_until IS NULL OR lease_until < now())
            ORDER BY id
            FOR UPDATE SKIP LOCKED
            LIMIT 1)
    RETURNING *
    """
)


class TaskQueue:
    def __init__(self, db: Engine) -> None:
        self.db = db

    def claim(self, lease_seconds: float) -> ProviderTask | None:
        """Lease the oldest due task for ``lease_seconds``; None when nothing is due."""
        with self.db.begin() as conn:
            row = conn.execute(_CLAIM, {"lease": lease_seconds}).mappings().first()
        return None if row is None else ProviderTask.from_row(row)

    def complete(self, task: ProviderTask) -> bool:
        """Done for good; False if the lease was lost to another executor meanwhile."""
        return self._settle(task, status=TaskStatus.DONE.value, last_error=None)

    def retry_later(self, task: ProviderTask, delay_seconds: float, error: str) -> bool:
        return self._settle(
            task,
            next_attempt_at=sa.func.now() + timedelta(seconds=delay_seconds),
            last_error=error,
        )

    def fail(self, task: ProviderTask, error: str) -> bool:
        return self._settle(task, status=TaskStatus.FAILED.value, last_error=error)

    def _settle(self, task: ProviderTask, **values: Any) -> bool:
        statement = (
            sa.update(provider_tasks)
            .where(
                _c.id == task.id,
                _c.attempts == task.attempts,
                _c.status == TaskStatus.PENDING.value,
            )
            .values(lease_until=None, updated_at=sa.func.now(), **values)
        )
        with self.db.begin() as conn:
            return conn.execute(statement).rowcount == 1

    def prune(self, older_than: timedelta, batch: int = 1000) -> int:
        """Delete up to ``batch`` tasks done more than ``older_than`` ago (failed ones stay).

        The unique call key goes with the row, which is safe: the task projection never
        replays the log (the queue is not rebuilt), so no done call is ever queued again.
        """
        doomed = (
            sa.select(_c.id)
            .where(
                _c.status == TaskStatus.DONE.value,
                _c.updated_at < sa.func.now() - older_than,
            )
            .limit(batch)
        )
        with self.db.begin() as conn:
            result = conn.execute(sa.delete(provider_tasks).where(_c.id.in_(doomed)))
        return int(result.rowcount)

    def census(self) -> TaskCensus:
        """How many tasks are due now, and how many of each kind are in each status."""
        due = sa.func.count().filter(
            _c.status == TaskStatus.PENDING.value, _c.next_attempt_at <= sa.func.now()
        )
        by_kind = sa.select(_c.kind, _c.status, sa.func.count(), due).group_by(_c.kind, _c.status)
        with self.db.connect() as conn:
            if conn.execute(sa.select(sa.func.to_regclass(provider_tasks.name))).scalar() is None:
                return TaskCensus(0, {})  # no worker has run against this database yet
            rows = conn.execute(by_kind).all()
        counts = {(TaskKind(kind), TaskStatus(status)): n for kind, status, n, _ in rows}
        return TaskCensus(sum(row[3] for row in rows), counts)

    def for_payment(self, payment_id: UUID) -> list[ProviderTask]:
        """Every task of one payment, oldest first (for operators and tests)."""
        query = sa.select(provider_tasks).where(_c.payment_id == payment_id).order_by(_c.id)
        with self.db.connect() as conn:
            return [ProviderTask.from_row(row) for row in conn.execute(query).mappings()]
