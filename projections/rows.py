"""The row store every batched view folds its events into.

A batch loads the rows its events may touch, changes them in memory and writes each touched
row back once, with one multi-row upsert: a batch costs one read and one upsert whatever its
size, which is what makes a rebuild fast (adr/0006). Both are parts of the page's single
read and single write, shared with every other view (projections.statements).

Both are plain SQL built once per table (``TableStatements``) and run with psycopg on the
SQLAlchemy connection's driver connection, inside its transaction: the upsert sends the
batch's rows as one JSON parameter (``INSERT ... SELECT FROM json_to_recordset(...) ON
CONFLICT``, adr/0033), so its cost does not grow with SQLAlchemy's per-row work, which was
most of the projector's CPU (adr/0022), nor with psycopg's per-element array dumping. The
SQL text of a page's statements repeats, so psycopg prepares it after a few runs.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.engine import Connection

from domain import Payment
from projections.follower import DomainEvent

Row = dict[str, Any]

_DIALECT = PGDialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Load:
    """Rows of one table, for ``receive``: ``select`` is an aggregate query returning one
    row of ``width`` arrays (one per column) and naming its id array ``{ids}``."""

    select: str
    width: int
    ids: list[Any]
    receive: Callable[[Sequence[tuple[Any, ...]]], None]


@dataclass(frozen=True)
class Write:
    """One data-modifying statement (INSERT ... SELECT, UPDATE) with positional parameters;
    ``notify``: a channel to NOTIFY when the page commits."""

    sql: str
    params: list[Any]
    notify: str | None = None


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


def driver_cursor(conn: Connection) -> psycopg.Cursor[Any]:
    """A psycopg cursor in ``conn``'s transaction (SQLAlchemy has begun it)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver.cursor()


@contextmanager
def as_sqlalchemy_errors(statement: str) -> Iterator[None]:
    """psycopg's errors as SQLAlchemy raises them (DataError, IntegrityError, ...), so that
    followers tell a refused value from a lost connection whichever layer ran the SQL."""
    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(
            statement, None, exc, psycopg.Error, dialect=_DIALECT
        ) from exc


def _quote(name: str) -> str:
    return str(_DIALECT.identifier_preparer.quote(name))


def _sql_type(column: sa.Column[Any]) -> str:
    return str(column.type.compile(dialect=_DIALECT))


def _beyond_json(value: Any) -> Any:
    """What orjson does not write itself: bytes as PostgreSQL's hex text, Decimals as text."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a view value")


def rows_json(rows: Iterable[Mapping[str, Any]]) -> str:
    """A batch of rows as one JSON array of objects, for ``json_to_recordset``.

    orjson writes UUIDs, datetimes (with their offset) and enums itself, in C. What it
    refuses (an integer beyond 64 bits, a key that is not exactly a str) goes through the
    standard library instead, which writes the value as it is, so PostgreSQL refuses it
    loudly (``bigint`` out of range) rather than anything being changed on the way. View
    rows carry no floats: their columns have none, and money is in integer minor units.
    """
    listed = rows if isinstance(rows, list) else list(rows)
    try:
        return orjson.dumps(listed, default=_beyond_json).decode()
    except orjson.JSONEncodeError:
        return json.dumps(listed, default=_plain_beyond_json, allow_nan=False)


def _plain_beyond_json(value: Any) -> Any:
    """``_beyond_json`` for the standard library, which also needs UUIDs, datetimes and
    enums written as orjson writes them."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return _beyond_json(value)


class RowsUpsert:
    """``INSERT INTO t (cols) SELECT cols FROM json_to_recordset(rows) ... ON CONFLICT (key)
    DO ...``, built once for a table and a set of its columns (every column by default).

    The batch's rows go as ONE parameter, a JSON array of objects (``rows_json``), typed
    back into the columns' types by the server. That replaced one binary array per column:
    psycopg dumps arrays element by element in Python, about 6.6 µs per array of 3 values,
    so a page's write of a few views (54 arrays) cost some 350 µs of the follower's CPU
    before it was sent; the same rows as JSON cost a few µs (adr/0033).
    """

    def __init__(
        self,
        table: sa.Table,
        columns: Collection[str] | None = None,
        *,
        conflict: Collection[str] | None = None,
        update: bool = True,
        on_conflict: bool = True,
    ) -> None:
        """``conflict``: the conflict target (the primary key by default; empty: any
        unique constraint); ``update``: DO UPDATE the other columns, else DO NOTHING;
        ``on_conflict=False``: a plain INSERT, which raises on any conflict."""
        names = [c.name for c in table.columns] if columns is None else list(columns)
        keys = [c.name for c in table.primary_key.columns] if conflict is None else conflict
        self.columns = tuple(str(name) for name in names)
        quoted = [_quote(name) for name in names]
        target = ", ".join(quoted)
        record = ", ".join(
            f"{q} {_sql_type(table.c[n])}" for q, n in zip(quoted, names, strict=True)
        )
        updated = [q for q in quoted if q not in {_quote(k) for k in keys}]
        action = (
            "DO UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in updated)
            if update and updated
            else "DO NOTHING"
        )
        # No conflict columns: any unique constraint's conflict skips the row.
        on = f"({', '.join(_quote(k) for k in keys)}) " if keys else ""
        self._insert = (
            f"INSERT INTO {_DIALECT.identifier_preparer.format_table(table)} ({target}) "
            f"SELECT {target} FROM json_to_recordset(%s::json) AS v({record})"
        )
        self._conflict = f" ON CONFLICT {on}{action}" if on_conflict else ""
        self.sql = self._insert + self._conflict

    def where(self, condition: str) -> str:
        """The statement with a WHERE on its rows (``condition`` may name ``v.<column>``,
        or anything a WITH before it defines)."""
        return f"{self._insert} WHERE {condition}{self._conflict}"

    def parameters(self, rows: Collection[Mapping[str, Any]]) -> list[Any]:
        """The statement's one parameter: the rows' columns (only those), as JSON."""
        columns = self.columns
        return [rows_json([{name: row[name] for name in columns} for row in rows])]

    def execute(
        self, conn: Connection, rows: Collection[Mapping[str, Any]], sql: str | None = None
    ) -> None:
        """Run the upsert, or ``sql`` built around it (same parameters), on ``rows``."""
        if not rows:
            return
        statement = sql or self.sql
        with as_sqlalchemy_errors(statement):
            driver_cursor(conn).execute(statement, self.parameters(rows))


class TableStatements:
    """The load and the upsert of one view table, found by ``found_by`` columns."""

    def __init__(self, table: sa.Table, found_by: Collection[str]) -> None:
        self.columns = tuple(c.name for c in table.columns)
        source = _DIALECT.identifier_preparer.format_table(table)
        # The rows whose found_by columns hold any of the ids, as one row of arrays (one
        # per column), the id array named {ids}: one part of a page's single read
        # (projections.statements.run_loads). One array parameter rather than IN (...):
        # thousands of ids, one placeholder.
        aggregates = ", ".join(f"array_agg({_quote(name)})" for name in self.columns)
        self.aggregate = f"SELECT {aggregates} FROM {source} WHERE " + " OR ".join(
            f"{_quote(name)} = ANY({{ids}}::{_sql_type(table.c[name])}[])" for name in found_by
        )
        self.upsert = RowsUpsert(table)


# Built on first use per table (a rebuild's shadow table gets its own, dropped with it).
_STATEMENTS: weakref.WeakKeyDictionary[sa.Table, dict[tuple[str, ...], TableStatements]] = (
    weakref.WeakKeyDictionary()
)


def statements_for(table: sa.Table, found_by: tuple[str, ...]) -> TableStatements:
    by_columns = _STATEMENTS.setdefault(table, {})
    found = by_columns.get(found_by)
    if found is None:
        found = by_columns[found_by] = TableStatements(table, found_by)
    return found


class WrittenIds:
    """What the rows of a table that only a rebuild writes can be found by: every
    ``found_by`` value of every row it wrote. An id not among them finds no row, so a page
    need not look for it: most of a rebuild's ids are of rows its page creates, and
    looking for each of them was most of the page's read.

    Bounded: past ``limit`` ids it forgets them all and says every id may find a row (the
    page then looks for every one, as the live follower does)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.ids: set[Any] | None = set()

    def may_find(self, ids: Iterable[Any]) -> list[Any]:
        known = self.ids
        return list(ids) if known is None else [i for i in ids if i in known]

    def add(self, values: Iterable[Any]) -> None:
        known = self.ids
        if known is None:
            return
        known.update(values)
        known.discard(None)
        if len(known) > self.limit:
            self.ids = None


class RowStore:
    """The rows of one view that a batch touches.

    Rows are keyed by the table's primary key, and also found by the id columns events
    name them by (``found_by``: an order row by its payment id, a catalog row by its
    product or stock id). Loaded once per batch (``loading``), changed in memory, written
    once (``writes``).
    """

    def __init__(
        self,
        table: sa.Table,
        found_by: Collection[str],
        defaults: Mapping[str, Any],
        written: WrittenIds | None = None,
    ) -> None:
        """``written``: the table is a rebuild's, and these are what its rows can be found
        by (kept up to date by ``writes``)."""
        (key,) = table.primary_key.columns
        self._written = written
        self._table = table
        self._key = key.name
        self._found_by = tuple(found_by)
        self._statements = statements_for(table, self._found_by)
        self._blank = {column.name: None for column in table.columns} | dict(defaults)
        self._rows: dict[Any, Row] = {}
        self._keys: dict[str, dict[Any, Any]] = {column: {} for column in self._found_by}
        self._dirty: dict[Any, Row] = {}

    def loading(self, ids: Collection[UUID]) -> Load | None:
        """``load`` as a part of a page's single read (projections.statements.run_loads);
        None when none of ``ids`` can find a row."""
        statements = self._statements
        wanted = list(ids) if self._written is None else self._written.may_find(ids)
        if not wanted:
            return None
        return Load(statements.aggregate, len(statements.columns), wanted, self.receive)

    def receive(self, found: Iterable[Sequence[Any]]) -> None:
        """Remember rows read (values in the table's column order)."""
        columns = self._statements.columns
        for values in found:
            self._remember(dict(zip(columns, values, strict=True)))

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

    def writes(self) -> list[Write]:
        """The upsert of every changed row, as a part of a page's single write."""
        if not self._dirty:
            return []
        upsert = self._statements.upsert
        rows = list(self._dirty.values())
        self._dirty.clear()
        if self._written is not None:
            for column in self._found_by:
                self._written.add(row[column] for row in rows)
        return [Write(upsert.sql, upsert.parameters(rows))]
