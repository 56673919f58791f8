"""The durable queue of provider calls: one row per call the log says must happen.

Rows are added by the provider-task feed (exactly once, with the log position) and
worked by executors in any number of worker processes, as a leased queue
(infrastructure.leased_queue): an executor leases the oldest due row, calls the provider
with no transaction open, then settles the row, fenced by its claim, so an executor whose
lease ran out (it hung, or died) cannot settle a row another executor has claimed since.

The table and its kinds and statuses are described in projections.schema, with every table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from infrastructure.leased_queue import LeasedQueue
from projections.schema import TaskKind, TaskStatus, provider_tasks

__all__ = [
    "CREATES",
    "OTHERS",
    "ProviderTask",
    "TaskCensus",
    "TaskKind",
    "TaskQueue",
    "TaskStatus",
    "provider_tasks",
]

_c = provider_tasks.c
# Lanes of claims: the creates (one per checkout) are batched, the other kinds are not.
CREATES = "creates"
OTHERS = "others"
_CREATE_ORDER = sa.literal(TaskKind.CREATE_ORDER.value, sa.Text, literal_execute=True)


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


class TaskQueue:
    def __init__(self, db: Engine) -> None:
        self.db = db
        self._queue = LeasedQueue(
            db,
            provider_tasks,
            waiting=[TaskStatus.PENDING.value],
            finished=[TaskStatus.DONE.value],
            finished_at=_c.updated_at,
            order=[_c.id],
            stamp=_c.updated_at,
            # Rendered into the SQL, not bound, as the statuses are: each lane's partial
            # index (ix_provider_tasks_pending_creates, _others) is then provably usable.
            lanes={
                CREATES: _c.kind == _CREATE_ORDER,
                OTHERS: _c.kind != _CREATE_ORDER,
            },
        )

    def claim(self, lease_seconds: float) -> ProviderTask | None:
        """Lease the oldest due task for ``lease_seconds``; None when nothing is due."""
        row = self._queue.claim(lease_seconds)
        return None if row is None else ProviderTask.from_row(row)

    def claim_many(
        self, lease_seconds: float, limit: int, lane: str | None = None
    ) -> list[ProviderTask]:
        """Lease up to ``limit`` due tasks, oldest first, in one statement; ``lane``:
        ``CREATES`` or ``OTHERS`` only."""
        rows = self._queue.claim_many(lease_seconds, limit, lane)
        return [ProviderTask.from_row(row) for row in rows]

    def claim_lanes(
        self, lease_seconds: float, limits: Mapping[str | None, int]
    ) -> list[ProviderTask]:
        """Lease up to ``limits[lane]`` due tasks of each lane (``CREATES``, ``OTHERS``),
        oldest first within each, in one statement."""
        rows = self._queue.claim_lanes(lease_seconds, limits)
        return [ProviderTask.from_row(row) for row in rows]

    def complete_many(self, tasks: Sequence[ProviderTask]) -> set[int]:
        """``complete`` each of ``tasks`` in one statement; the ids settled (the others'
        leases were lost to another executor meanwhile)."""
        return self._queue.settle_many(tasks, status=TaskStatus.DONE.value, last_error=None)

    def complete(self, task: ProviderTask) -> bool:
        """Done for good; False if the lease was lost to another executor meanwhile."""
        return self._queue.settle(task, status=TaskStatus.DONE.value, last_error=None)

    def retry_later(self, task: ProviderTask, delay_seconds: float, error: str) -> bool:
        return self._queue.retry(task, delay_seconds, last_error=error)

    def fail(self, task: ProviderTask, error: str) -> bool:
        return self._queue.settle(task, status=TaskStatus.FAILED.value, last_error=error)

    def prune(self, older_than: timedelta, batch: int = 1000) -> int:
        """Delete up to ``batch`` tasks done more than ``older_than`` ago (failed ones stay).

        The unique call key goes with the row, which is safe: the task projection never
        replays the log (the queue is not rebuilt), so no done call is ever queued again.
        """
        return self._queue.prune(older_than, batch)

    def census(self) -> TaskCensus:
        """How many tasks are due now, and how many of each kind are in each status."""
        census = self._queue.census(_c.kind)  # nothing before any worker made the table
        counts = {
            (TaskKind(kind), TaskStatus(status)): n for (kind, status), n in census.counts.items()
        }
        return TaskCensus(census.due, counts)

    def for_payment(self, payment_id: UUID) -> list[ProviderTask]:
        """Every task of one payment, oldest first (for operators and tests)."""
        query = sa.select(provider_tasks).where(_c.payment_id == payment_id).order_by(_c.id)
        with self.db.connect() as conn:
            return [ProviderTask.from_row(row) for row in conn.execute(query).mappings()]
