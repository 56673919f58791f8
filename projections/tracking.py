"""Projection positions: reading, advancing (compare-and-set) and waiting for them."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import sqlalchemy as sa
from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from projections.rows import RowsUpsert, as_sqlalchemy_errors, driver_cursor
from projections.schema import projection_tracking

# Waiting for a position looks again after 5 ms, then twice as long each time, at most
# every 200 ms: a projection usually commits within a few ms of the write, and a wait
# that lasts costs a handful of lookups, not hundreds.
FIRST_INTERVAL = 0.005
MAX_INTERVAL = 0.2


class PositionMoved(Exception):
    """The tracking position is not the one this batch started from.

    A rebuild swapped the tables and set a new position, or another runner wrote while
    this one believed it held the lock. The batch must be rolled back and redone from
    the stored position.
    """

    def __init__(self, name: str, expected: int) -> None:
        super().__init__(f"projection {name!r} is no longer at position {expected}")


def ensure_tracking_row(conn: Connection, name: str) -> None:
    statement = insert(projection_tracking).values(name=name, position=0, updated_at=sa.func.now())
    conn.execute(statement.on_conflict_do_nothing(index_elements=["name"]))


def read_positions(conn: Connection, names: Collection[str]) -> dict[str, int]:
    """The positions of several followers (0 for one with no tracking row yet)."""
    t = projection_tracking
    query = sa.select(t.c.name, t.c.position).where(t.c.name.in_(list(names)))
    found = {str(name): int(at) for name, at in conn.execute(query)}
    return {name: found.get(name, 0) for name in names}


def read_position(conn: Connection, name: str, *, for_update: bool = False) -> int:
    query = sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
    if for_update:
        query = query.with_for_update()
    return conn.execute(query).scalar_one_or_none() or 0


def position(db: Engine, name: str) -> int:
    """The notification id up to which projection ``name`` has committed (0: none yet)."""
    with db.connect() as conn:
        return read_position(conn, name)


# Every follower of a page moves in one statement (a WITH of the page's write,
# projections.statements); a row the compare-and-set did not match is missing from what it
# returns. The compare-and-set makes a page commit only on top of the positions it was read
# from, so no event's effects are applied twice even if two writers ever overlap.
ADVANCE_ALL = (
    f"UPDATE {projection_tracking.name} AS t SET position = m.new, updated_at = now() "
    "FROM unnest(%b::text[], %b::bigint[], %b::bigint[]) AS m(name, expected, new) "
    "WHERE t.name = m.name AND t.position = m.expected RETURNING t.name"
)


# The compare-and-set of one position, as the WITH of a write that runs only if it matched.
_GATE = (
    f"WITH moved AS (UPDATE {projection_tracking.name} SET position = %b::bigint, "
    "updated_at = now() WHERE name = %b::text AND position = %b::bigint RETURNING 1) "
)


def run_gated(
    conn: Connection,
    name: str,
    expected: int,
    new: int,
    insert: RowsUpsert,
    rows: Collection[Mapping[str, Any]],
) -> int:
    """Move ``name``'s position from ``expected`` to ``new`` and insert ``rows``, in ONE
    statement: the rows go in only if the position matched. On an autocommit connection
    that statement is the whole transaction (no BEGIN, no COMMIT). Returns how many rows
    went in: fewer than ``rows`` (0) means the position had moved and nothing changed."""
    if not rows:
        raise ValueError("a gated write needs rows")
    sql = _GATE + insert.where("EXISTS (SELECT FROM moved)")
    with as_sqlalchemy_errors(sql):
        cursor = driver_cursor(conn)
        cursor.execute(sql, [new, name, expected, *insert.parameters(rows)])
        return cursor.rowcount


def set_position(conn: Connection, name: str, new: int) -> None:
    t = projection_tracking
    conn.execute(
        sa.update(t).where(t.c.name == name).values(position=new, updated_at=sa.func.now())
    )


def intervals() -> Iterator[float]:
    """The pauses between looks at the tracking rows: growing, then steady."""
    interval = FIRST_INTERVAL
    while True:
        yield interval
        interval = min(interval * 2, MAX_INTERVAL)


def wait_for_position(db: Engine, names: Collection[str], position: int, timeout: float) -> bool:
    """True as soon as every named projection reached ``position``; False at the timeout.

    Blocks its thread (tests, tools). A request waits with ``PositionReader.wait``,
    which sleeps in the event loop instead.
    """
    wanted = set(names)
    if position <= 0 or not wanted:
        return True
    deadline = time.monotonic() + timeout
    t = projection_tracking
    query = sa.select(t.c.name, t.c.position).where(t.c.name.in_(wanted))
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for interval in intervals():
            reached = {name for name, at in conn.execute(query) if at >= position}
            if reached >= wanted:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(interval, remaining))
    raise AssertionError("unreachable")  # intervals() never ends


@dataclass(frozen=True)
class LogPositions:
    """The log head and where some projections are, as one query saw them."""

    head: int
    views: Mapping[str, int]

    def reached(self, names: Collection[str], position: int) -> bool:
        return all(self.views.get(name, 0) >= position for name in names)


class PositionReader:
    """Reads the log head and projection positions together, and waits for a position.

    One statement answers both (the head is ``max(notification_id)``, a backward scan of
    its unique index; each position a primary-key lookup), so a read whose views are
    already there costs one query. Waiting sleeps in the event loop between lookups and
    runs each lookup in a worker thread only while it executes: a waiting request holds
    neither a thread nor a connection. LISTEN would need a dedicated session per waiting
    request and the runners to NOTIFY after each commit; for waits of a few tens of
    milliseconds the lookups are cheaper.
    """

    def __init__(self, db: Engine, events_table: str, schema: str = "public") -> None:
        self.db = db
        self.events_table = events_table
        self.schema = schema
        events = sa.table(events_table, sa.column("notification_id"), schema=schema)
        head = sa.select(
            sa.cast(sa.null(), sa.Text).label("name"),
            sa.func.coalesce(sa.func.max(events.c.notification_id), 0).label("position"),
        )
        t = projection_tracking
        views = sa.select(t.c.name, t.c.position).where(
            t.c.name == sa.any_(sa.bindparam("names", type_=sa.ARRAY(sa.Text)))
        )
        self._query = sa.union_all(head, views)

    @classmethod
    def of(cls, app: CheckoutApplication, db: Engine) -> PositionReader:
        """The reader of ``app``'s own events table, through ``engine``."""
        recorder = app.recorder
        if not isinstance(recorder, PostgresApplicationRecorder):
            raise TypeError("positions are read from a PostgreSQL notification log")
        return cls(db, recorder.events_table_name, recorder.datastore.schema)

    def read(self, names: Collection[str]) -> LogPositions:
        with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            rows = conn.execute(self._query, {"names": list(names)}).all()
        head = next(at for name, at in rows if name is None)
        return LogPositions(int(head), {name: at for name, at in rows if name is not None})

    async def wait(self, names: Collection[str], position: int, timeout: float) -> bool:
        """True once every named projection reached ``position``; False at the timeout.

        For a caller that has just looked (``read``): the first look here is after a pause.
        """
        deadline = time.monotonic() + timeout
        for interval in intervals():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await anyio.sleep(min(interval, remaining))
            positions = await anyio.to_thread.run_sync(self.read, names)
            if positions.reached(names, position):
                return True
        raise AssertionError("unreachable")  # intervals() never ends
