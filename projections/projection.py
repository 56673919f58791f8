"""What a read-model projection is, and the row store both order-keyed views share.

A projection folds a batch of domain events into rows in memory and writes each touched
row back once, with one multi-row upsert: a batch costs one SELECT and one executemany
whatever its size, which is what makes a rebuild fast. The runner wraps each batch and the
tracking position in one transaction; a projection never commits.

eventsourcing's own ``Projection`` is bound to a ``TrackingRecorder`` and processes one
event per call; these views are SQLAlchemy tables written per batch, hence this small base.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.utils import get_topic
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Connection

from domain import Payment
from projections.schema import new_metadata, shadow_of

Row = dict[str, Any]
DomainEvent = DomainEventProtocol[UUID]
Handler = Callable[["ViewRows", Any], None]


class ViewRows:
    """The rows of one order-keyed view that a batch touches.

    Rows are keyed by order id; payment events only know their payment id, so rows are
    also found by it. Loaded once per batch, changed in memory, written back by ``flush``.
    """

    def __init__(self, table: sa.Table, defaults: Mapping[str, Any]) -> None:
        self._table = table
        self._blank = {column.name: None for column in table.columns} | dict(defaults)
        self._by_order: dict[UUID, Row] = {}
        self._order_of_payment: dict[UUID, UUID] = {}
        self._dirty: dict[UUID, Row] = {}

    def load(self, conn: Connection, ids: Collection[UUID]) -> None:
        """Fetch the rows whose order id or payment id is among ``ids``."""
        if not ids:
            return
        c = self._table.c
        # One array parameter rather than IN (...): thousands of ids, one placeholder.
        wanted = sa.bindparam("ids", list(ids), type_=ARRAY(PG_UUID(as_uuid=True)))
        query = sa.select(self._table).where(
            sa.or_(c.order_id == sa.any_(wanted), c.payment_id == sa.any_(wanted))
        )
        for row in conn.execute(query).mappings():
            self._remember(dict(row))

    def for_order(self, order_id: UUID) -> Row | None:
        return self._by_order.get(order_id)

    def for_payment(self, payment_id: UUID) -> Row | None:
        order_id = self._order_of_payment.get(payment_id)
        return None if order_id is None else self._by_order[order_id]

    def add(self, **values: Any) -> Row:
        row = self._blank | values
        self._remember(row)
        self._dirty[row["order_id"]] = row
        return row

    def change(self, row: Row, **values: Any) -> None:
        row.update(values)
        self._remember(row)
        self._dirty[row["order_id"]] = row

    def _remember(self, row: Row) -> None:
        self._by_order[row["order_id"]] = row
        if row["payment_id"] is not None:
            self._order_of_payment[row["payment_id"]] = row["order_id"]

    def flush(self, conn: Connection) -> int:
        """Upsert every changed row in one executemany; returns how many."""
        if not self._dirty:
            return 0
        statement = insert(self._table)
        statement = statement.on_conflict_do_update(
            index_elements=[self._table.c.order_id],
            set_={
                column.name: statement.excluded[column.name]
                for column in self._table.columns
                if not column.primary_key
            },
        )
        conn.execute(statement, list(self._dirty.values()))
        count = len(self._dirty)
        self._dirty.clear()
        return count


def later(current: datetime | None, timestamp: datetime) -> datetime:
    """Events of one transaction carry slightly unordered timestamps: never go back."""
    return timestamp if current is None or timestamp > current else current


def rfc3339(moment: datetime) -> str:
    """A timestamp as views keep it inside JSON documents: UTC, with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def row_ids(events: Iterable[DomainEvent]) -> set[UUID]:
    """Every order or payment id a batch of events may touch."""
    ids: set[UUID] = set()
    for event in events:
        ids.add(event.originator_id)
        if isinstance(event, Payment.Initiated):
            ids.add(event.order_id)
    return ids


class Projection(ABC):
    """One read model: a name, its tables, and a table of event class -> handler.

    Events of classes without a handler change nothing (the runner still advances the
    position past them). A subclass sets ``name``, ``handlers``, ``defaults`` (column
    values of a new row) and is constructed with its table.
    """

    name: ClassVar[str]
    handlers: ClassVar[Mapping[type[Any], Handler]]
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.topics = frozenset(get_topic(cls) for cls in self.handlers)

    @property
    def tables(self) -> tuple[sa.Table, ...]:
        return (self.table,)

    def shadow(self) -> Self:
        """The same projection writing into the rebuild copies of its tables."""
        return type(self)(shadow_of(self.table, new_metadata()))

    def wants(self, topic: str) -> bool:
        """Whether events of this topic are worth decoding at all."""
        return topic in self.topics

    def apply(self, conn: Connection, domain_event: DomainEvent, position: int) -> None:
        """Apply one event (``position`` is its notification id; the runner tracks it)."""
        self.apply_batch(conn, [domain_event])

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        """Apply events in log order: one read of the touched rows, one upsert."""
        relevant = [event for event in domain_events if type(event) in self.handlers]
        if not relevant:
            return
        rows = ViewRows(self.table, self.defaults)
        rows.load(conn, row_ids(relevant))
        for event in relevant:
            self.handlers[type(event)](rows, event)
        rows.flush(conn)
