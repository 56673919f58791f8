"""Projection positions: reading, advancing (compare-and-set) and waiting for them."""

from __future__ import annotations

import time
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from projections.schema import projection_tracking

# How often wait_for_position looks at the tracking rows (see there).
WAIT_INTERVAL = 0.01


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


def read_position(conn: Connection, name: str, *, for_update: bool = False) -> int:
    query = sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
    if for_update:
        query = query.with_for_update()
    return conn.execute(query).scalar_one_or_none() or 0


def position(engine: Engine, name: str) -> int:
    """The notification id up to which projection ``name`` has committed (0: none yet)."""
    with engine.connect() as conn:
        return read_position(conn, name)


def advance(conn: Connection, name: str, expected: int, new: int) -> None:
    """Move the position from ``expected`` to ``new``, in the caller's transaction.

    The compare-and-set makes a batch commit only on top of the position it was read
    from, so no event's effects are applied twice even if two writers ever overlap.
    """
    t = projection_tracking
    result = conn.execute(
        sa.update(t)
        .where(t.c.name == name, t.c.position == expected)
        .values(position=new, updated_at=sa.func.now())
    )
    if result.rowcount != 1:
        raise PositionMoved(name, expected)


def set_position(conn: Connection, name: str, new: int) -> None:
    t = projection_tracking
    conn.execute(
        sa.update(t).where(t.c.name == name).values(position=new, updated_at=sa.func.now())
    )


def wait_for_position(
    engine: Engine, names: Collection[str], position: int, timeout: float
) -> bool:
    """True as soon as every named projection reached ``position``; False at the timeout.

    Polls the tracking rows (a primary-key lookup) every 10 ms on one connection. The
    alternative, LISTEN on a channel the runners NOTIFY after each commit, needs a
    dedicated session per waiting request (LISTEN state must not leak back into the pool)
    and still a re-check after subscribing; for waits of a few tens of milliseconds the
    lookups are cheaper, and the common case (already there) costs one query.
    """
    wanted = set(names)
    if position <= 0 or not wanted:
        return True
    deadline = time.monotonic() + timeout
    t = projection_tracking
    query = sa.select(t.c.name, t.c.position).where(t.c.name.in_(wanted))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while True:
            reached = {name for name, at in conn.execute(query) if at >= position}
            if reached >= wanted:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(WAIT_INTERVAL, remaining))
