"""The row store every batched view folds its events into.

A batch loads the rows its events may touch with one SELECT, changes them in memory and
writes each touched row back once, with one multi-row upsert: a batch costs one SELECT and
one executemany whatever its size, which is what makes a rebuild fast (adr/0006).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Connection

from domain import Payment
from projections.follower import DomainEvent

Row = dict[str, Any]


def later(current: datetime | None, timestamp: datetime) -> datetime:
    """Events of one transaction carry slightly unordered timestamps: never go back."""
    return timestamp if current is None or timestamp > current else current


def row_ids(events: Iterable[DomainEvent]) -> set[UUID]:
    """Every id a batch of events may find rows by: each event's aggregate id, and the order
    id of a new payment (an order-keyed row knows its order before its payment)."""
    ids: set[UUID] = set()
    for event in events:
        ids.add(event.originator_id)
        if isinstance(event, Payment.Initiated):
            ids.add(event.order_id)
    return ids


class RowStore:
    """The rows of one view that a batch touches.

    Rows are keyed by the table's primary key, and also found by the id columns events
    name them by (``found_by``: an order row by its payment id, a catalog row by its
    product or stock id). Loaded once per batch, changed in memory, written by ``flush``.
    """

    def __init__(
        self, table: sa.Table, found_by: Collection[str], defaults: Mapping[str, Any]
    ) -> None:
        (key,) = table.primary_key.columns
        self._table = table
        self._key = key.name
        self._found_by = tuple(found_by)
        self._blank = {column.name: None for column in table.columns} | dict(defaults)
        self._rows: dict[Any, Row] = {}
        self._keys: dict[str, dict[Any, Any]] = {column: {} for column in self._found_by}
        self._dirty: dict[Any, Row] = {}

    def load(self, conn: Connection, ids: Collection[UUID]) -> None:
        """Fetch the rows whose ``found_by`` columns hold any of ``ids``."""
        if not ids:
            return
        c = self._table.c
        # One array parameter rather than IN (...): thousands of ids, one placeholder.
        wanted = sa.bindparam("ids", list(ids), type_=ARRAY(PG_UUID(as_uuid=True)))
        query = sa.select(self._table).where(
            sa.or_(*(c[column] == sa.any_(wanted) for column in self._found_by))
        )
        for row in conn.execute(query).mappings():
            self._remember(dict(row))

    def get(self, key: Any) -> Row | None:
        """The row with this primary key."""
        return self._rows.get(key)

    def find(self, column: str, value: Any) -> Row | None:
        """The row whose ``column`` (one of ``found_by``) holds ``value``."""
        key = self._keys[column].get(value)
        return None if key is None else self._rows[key]

    def add(self, **values: Any) -> Row:
        """A new row: the table's blank row (``defaults``, else None) with ``values``."""
        row = self._blank | values
        self._remember(row)
        self._dirty[row[self._key]] = row
        return row

    def change(self, row: Row, **values: Any) -> None:
        row.update(values)
        self._remember(row)
        self._dirty[row[self._key]] = row

    def touch(self, row: Row, event: Any, **values: Any) -> None:
        """Change the row and move its ``updated_at`` to the event's time, never back."""
        self.change(row, updated_at=later(row["updated_at"], event.timestamp), **values)

    def _remember(self, row: Row) -> None:
        key = row[self._key]
        self._rows[key] = row
        for column, keys in self._keys.items():
            if row[column] is not None:
                keys[row[column]] = key

    def flush(self, conn: Connection) -> int:
        """Upsert every changed row in one executemany; returns how many."""
        if not self._dirty:
            return 0
        statement = insert(self._table)
        statement = statement.on_conflict_do_update(
            index_elements=[self._table.c[self._key]],
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
