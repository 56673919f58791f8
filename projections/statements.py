"""A page's reads and writes, for every follower of it at once: one statement each.

A follower that can (``PlannedFollower``) says what a batch needs read (``Load``: the rows
of one table found by ids) and, once those are read, what it writes (``Write``: one
data-modifying statement). The page then reads every follower's rows with ONE statement
(``run_loads``: each table's rows come back as one array per column) and writes every
follower's changes, and the followers' tracking positions, with ONE statement
(``run_writes``: each write a data-modifying WITH of it). A page at the head then costs
the same few round trips however many views follow it (adr/0022).

Every data-modifying WITH of a statement runs exactly once and to completion, whether or
not anything reads its output, and all see the same snapshot; the writes touch distinct
tables (each view its own), so none depends on another's effect.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from projections.follower import DomainEvent, Follower
from projections.rows import Load, Write, as_sqlalchemy_errors, driver_cursor
from projections.tracking import ADVANCE_ALL


@dataclass(frozen=True)
class Prepared:
    """A follower's part of a page: what it reads, then (``finish``) what it writes."""

    loads: Sequence[Load] = ()
    finish: Callable[[], Sequence[Write]] = field(default=lambda: ())


NOTHING = Prepared()


class PlannedFollower(Follower):
    """A follower whose batches are loads and writes the page runs with everyone else's.

    ``apply_batch`` (a follower on its own, as tests and tools use it) runs the same
    plan with the same two statements.
    """

    @abstractmethod
    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        """What this batch of events (only those it wants, in log order) reads and writes."""

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        prepared = self.prepare(domain_events)
        run_loads(conn, prepared.loads)
        run_writes(conn, prepared.finish())


def run_loads(conn: Connection, loads: Sequence[Load], *, prepare: bool | None = None) -> None:
    """Read every load's rows in one statement, and hand each its rows. ``prepare``: as
    psycopg's (None: once the text has run a few times on ``conn``; False: never)."""
    if not loads:
        return
    parts = []
    params: dict[str, Any] = {}
    for n, load in enumerate(loads):
        parts.append(f"({load.select.replace('{ids}', f'%(ids_{n})b')}) AS r{n}")
        params[f"ids_{n}"] = load.ids
    sql = "SELECT * FROM " + ", ".join(parts)
    with as_sqlalchemy_errors(sql):
        cursor = driver_cursor(conn)
        cursor.execute(sql, params, prepare=prepare)
        row = cursor.fetchone()
    assert row is not None  # aggregates without GROUP BY: always one row
    start = 0
    for load in loads:
        arrays = row[start : start + load.width]
        start += load.width
        # No row matched: every array_agg is NULL.
        load.receive([] if arrays[0] is None else list(zip(*arrays, strict=True)))


def run_writes(
    conn: Connection,
    writes: Sequence[Write],
    moves: Sequence[tuple[str, int, int]] = (),
    *,
    prepare: bool | None = None,
) -> set[str]:
    """Run every write, and the tracking moves (name, expected, new), as one statement in
    the caller's transaction; returns the names whose position moved as expected.
    ``prepare``: as ``run_loads``'s."""
    notify = sorted({w.notify for w in writes if w.notify is not None})
    if not moves and not writes:
        return set()
    if not moves and len(writes) == 1 and not notify:
        (write,) = writes
        _execute(conn, write.sql, write.params, prepare)
        return set()
    ctes: list[str] = []
    params: list[Any] = []
    if moves:
        moves = sorted(moves)  # writers ask for the rows in one order
        ctes.append(f"moved AS ({ADVANCE_ALL})")
        params += [[m[0] for m in moves], [m[1] for m in moves], [m[2] for m in moves]]
    for n, write in enumerate(writes):
        ctes.append(f"w{n} AS ({write.sql})")
        params += write.params
    moved = "(SELECT array_agg(name) FROM moved)" if moves else "NULL::text[]"
    signals = "".join(f", pg_notify('{channel}', '')" for channel in notify)
    sql = f"WITH {', '.join(ctes)} SELECT {moved}{signals}"
    row = _execute(conn, sql, params, prepare)
    return set(row[0] or ()) if row is not None else set()


def _execute(
    conn: Connection, sql: str, params: list[Any], prepare: bool | None
) -> tuple[Any, ...] | None:
    with as_sqlalchemy_errors(sql):
        cursor = driver_cursor(conn)
        cursor.execute(sql, params, prepare=prepare)
        return cursor.fetchone() if cursor.description is not None else None
