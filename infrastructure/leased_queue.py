"""A table worked as a queue under leases: the webhook inbox and the provider tasks.

A worker claims the first due row (in the queue's order) by leasing it in a short
transaction: ``FOR UPDATE SKIP LOCKED``, so claimers never wait on each other nor take the
same row. It does the work with no transaction open, then settles the row. ``attempts``
counts the claims and is the lease's fencing token: a settle names the attempts it claimed
with, so a worker whose lease ran out (it hung, or died) cannot settle a row another one
has claimed since, nor one that is no longer waiting.

The table needs ``id``, ``status``, ``attempts``, ``next_attempt_at`` and ``lease_until``
columns. A row is due when its status is a waiting one and ``next_attempt_at`` has come;
a NULL ``next_attempt_at`` is never due (given up, until someone makes it due again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from infrastructure.database import autocommit

REQUIRED_COLUMNS = ("id", "status", "attempts", "next_attempt_at", "lease_until")


class Leased(Protocol):
    """A claimed row as its user holds it: which row, and the claim's fencing token."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...


class Prunable(Protocol):
    """A queue whose finished rows retention deletes (infrastructure.worker.retention)."""

    def prune(self, older_than: timedelta, batch: int) -> int: ...


@dataclass(frozen=True)
class QueueCensus:
    """Rows due now (waiting, their time come, leased or not), and rows by label and status."""

    due: int
    counts: dict[tuple[str, ...], int]


def from_now(seconds: float) -> sa.ColumnElement[datetime]:
    """The database's now() plus ``seconds``: leases and retry times use its clock only."""
    return sa.func.now() + timedelta(seconds=seconds)


def _literals(values: Sequence[str]) -> list[sa.BindParameter[str]]:
    # Rendered into the SQL, not bound: the partial indexes (status = 'pending', status IN
    # ('received', 'failed')) are then provably usable for every plan of the claim.
    return [sa.literal(value, sa.Text, literal_execute=True) for value in values]


class LeasedQueue:
    def __init__(
        self,
        db: Engine,
        table: sa.Table,
        *,
        waiting: Sequence[str],
        finished: Sequence[str],
        finished_at: sa.Column[Any],
        order: Sequence[sa.Column[Any]],
        stamp: sa.Column[Any] | None = None,
        lanes: Mapping[str, sa.ColumnElement[bool]] | None = None,
    ) -> None:
        """``waiting``: statuses a row is claimed and settled in; ``finished``: statuses
        retention prunes once ``finished_at`` is old enough; ``order``: which due row is
        claimed first; ``stamp``: a column every claim and settle sets to now();
        ``lanes``: named conditions ``claim_many`` may claim within."""
        missing = [name for name in REQUIRED_COLUMNS if name not in table.c]
        if missing:
            raise ValueError(f"{table.name} cannot be a leased queue: no {', '.join(missing)}")
        self.db = db
        self.table = table
        self.waiting = tuple(waiting)
        self.finished = tuple(finished)
        self._finished_at = finished_at
        self._stamped: dict[str, Any] = {} if stamp is None else {stamp.name: sa.func.now()}
        self._order = tuple(order)
        self._lanes: dict[str | None, sa.ColumnElement[bool] | None] = {None: None}
        self._lanes.update(lanes or {})
        self._claims: dict[tuple[str | None, ...], sa.Update] = {}

    def _first_due(self, lane: str | None, limit: sa.BindParameter[int]) -> sa.Select[Any]:
        c = self.table.c
        condition = self._lanes[lane]
        return (
            sa.select(c.id)
            .where(
                c.status.in_(_literals(self.waiting)),
                c.next_attempt_at <= sa.func.now(),
                sa.or_(c.lease_until.is_(None), c.lease_until < sa.func.now()),
                *([] if condition is None else [condition]),
            )
            .order_by(*self._order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    def _claim_statement(self, lanes: tuple[str | None, ...]) -> sa.Update:
        """Lease the first due rows of each lane (``limit_<i>`` of lane i), in one
        statement: one locking read per lane."""
        found = self._claims.get(lanes)
        if found is not None:
            return found
        c = self.table.c
        reads = [
            self._first_due(lane, sa.bindparam(f"limit_{i}", type_=sa.Integer))
            for i, lane in enumerate(lanes)
        ]
        # One WITH per lane (FOR UPDATE is not allowed in a UNION's arms): each locking
        # read runs once (a WITH holding FOR UPDATE is never inlined into the UPDATE's
        # plan), so a claim never leases more than its limits.
        due = [read.cte(f"due_{i}") for i, read in enumerate(reads)]
        ids = [sa.select(cte.c.id) for cte in due]
        statement = (
            sa.update(self.table)
            .where(c.id.in_(ids[0] if len(ids) == 1 else sa.union_all(*ids)))
            .values(
                lease_until=sa.func.now() + sa.bindparam("lease", type_=sa.Interval()),
                attempts=c.attempts + sa.literal_column("1"),
                **self._stamped,
            )
            .returning(*self.table.c)
        )
        self._claims[lanes] = statement
        return statement

    def claim(self, lease_seconds: float) -> RowMapping | None:
        """Lease the first due row for ``lease_seconds``; None when none is due."""
        rows = self.claim_lanes(lease_seconds, {None: 1})
        return rows[0] if rows else None

    def claim_many(
        self, lease_seconds: float, limit: int, lane: str | None = None
    ) -> list[RowMapping]:
        """Lease up to ``limit`` due rows at once (of ``lane`` only, when named), first due
        first, in one statement."""
        return self.claim_lanes(lease_seconds, {lane: limit})

    def claim_lanes(
        self, lease_seconds: float, limits: Mapping[str | None, int]
    ) -> list[RowMapping]:
        """Lease up to ``limits[lane]`` due rows of each lane (None: of any), first due
        first within each, in ONE statement on its own (no BEGIN, no COMMIT: the UPDATE
        alone is atomic). A row in two of the lanes is leased once."""
        lanes = tuple(limits)
        params: dict[str, Any] = {"lease": timedelta(seconds=lease_seconds)}
        params.update({f"limit_{i}": limits[lane] for i, lane in enumerate(lanes)})
        with autocommit(self.db) as conn:
            rows = list(conn.execute(self._claim_statement(lanes), params).mappings())
        # RETURNING follows no order: hand them out in the queue's.
        return sorted(rows, key=lambda row: tuple(row[column.name] for column in self._order))

    def settle_many(self, rows: Sequence[Leased], **values: Any) -> set[int]:
        """``settle`` each of ``rows`` alike, in one statement; the ids whose lease still
        held (each fenced by its own claim's attempts, as ``settle``)."""
        if not rows:
            return set()
        c = self.table.c
        claims = [(row.id, row.attempts) for row in rows]
        statement = (
            sa.update(self.table)
            .where(sa.tuple_(c.id, c.attempts).in_(claims), c.status.in_(self.waiting))
            .values(lease_until=None, **self._stamped, **values)
            .returning(c.id)
        )
        with autocommit(self.db) as conn:
            return set(conn.execute(statement).scalars())

    def settle(self, row: Leased, **values: Any) -> bool:
        """End the lease and write ``values``; False if the lease was lost meanwhile."""
        c = self.table.c
        statement = (
            sa.update(self.table)
            .where(c.id == row.id, c.attempts == row.attempts, c.status.in_(self.waiting))
            .values(lease_until=None, **self._stamped, **values)
        )
        with autocommit(self.db) as conn:
            return conn.execute(statement).rowcount == 1

    def retry(self, row: Leased, delay: float | None, **values: Any) -> bool:
        """Settle the row to be due again in ``delay`` seconds, or never (None)."""
        retry_at = None if delay is None else from_now(delay)
        return self.settle(row, next_attempt_at=retry_at, **values)

    def prune(self, older_than: timedelta, batch: int) -> int:
        """Delete up to ``batch`` finished rows whose ``finished_at`` is ``older_than`` ago."""
        c = self.table.c
        doomed = (
            sa.select(c.id)
            .where(c.status.in_(self.finished), self._finished_at < sa.func.now() - older_than)
            .limit(batch)
        )
        with autocommit(self.db) as conn:
            result = conn.execute(sa.delete(self.table).where(c.id.in_(doomed)))
        return int(result.rowcount)

    def census(self, *labels: sa.Column[Any]) -> QueueCensus:
        """Rows by ``labels`` and status (the key ends with the status); empty, nothing
        due, on a database whose schema no process has created yet."""
        c = self.table.c
        due = sa.func.count().filter(c.status.in_(self.waiting), c.next_attempt_at <= sa.func.now())
        grouped = (*labels, c.status)
        query = sa.select(*grouped, sa.func.count(), due).group_by(*grouped)
        with self.db.connect() as conn:
            if conn.execute(sa.select(sa.func.to_regclass(self.table.name))).scalar() is None:
                return QueueCensus(0, {})
            rows = conn.execute(query).all()
        width = len(grouped)
        counts = {tuple(row[:width]): row[width] for row in rows}
        return QueueCensus(sum(row[width + 1] for row in rows), counts)
