"""Rebuild a projection from the first event while the API keeps reading the old tables.

1. Create shadow tables (``<table>__rebuild``) and fill them from the log in large batches,
   one transaction each, without touching the live tables. Pages are applied by the same
   code as the shared follower's (``projections.page.apply_page``), the next page read
   while the current one is written.
2. In ONE final transaction: lock the live tables (ACCESS EXCLUSIVE) and the tracking row,
   catch the shadow up to the head, drop the live tables, rename shadow to live (indexes
   and constraints too) and set the tracking position.

Readers wait only for that last transaction. A shared follower live meanwhile commits into
the old tables until the lock; its next batch fails the position compare-and-set (or finds
its table gone), rolls back and resumes from the position the rebuild set.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from projections.follower import Follower
from projections.migrations import upgrade_database
from projections.page import Member, PageReader, apply_page
from projections.projection import BatchedView, Projection
from projections.rows import WrittenIds
from projections.stock_movements import EVENTS_TABLE
from projections.tracking import ensure_tracking_row, read_position, set_position

if TYPE_CHECKING:
    from application.application import CheckoutApplication

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]

REBUILD_BATCH = 2000
# The ids a shadow's rows can be found by, kept in memory while fewer than this (about 100
# MB; each row has one or two): a page then looks only for rows it may find.
WRITTEN_IDS_LIMIT = 1_000_000
# Allocations between two collections of the youngest generation while a rebuild runs
# (Python's default: 700).
REBUILD_GC_THRESHOLD = 50_000
# How long the log's ANALYZE may wait for its lock (an autovacuum of the table holds it).
ANALYZE_LOCK_TIMEOUT = "2s"


class RebuildInProgress(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"projection {name!r} is already being rebuilt")


@dataclass(frozen=True)
class RebuildResult:
    events: int  # the log's events the rebuild went over, from the first to its position
    seconds: float
    events_per_s: float  # of ``events``
    applied: int = 0  # of those, the ones of the projection's topics: read and applied


def rebuild(
    app: CheckoutApplication,
    db: Engine,
    projection: Projection,
    progress: Progress | None = None,
    batch_size: int = REBUILD_BATCH,
) -> RebuildResult:
    """Replay the whole log into fresh tables and swap them in; progress(done, total)
    reports notification ids (done reaches total at the end)."""
    upgrade_database(db)
    report = progress or (lambda done, total: None)
    started = time.perf_counter()
    with _exclusive_rebuild(db, projection.name), _fewer_collections():
        _planner_knows_the_log(db)
        shadow = projection.shadow()
        if isinstance(shadow, BatchedView):
            shadow.written = WrittenIds(WRITTEN_IDS_LIMIT)  # the shadow is written by us alone
        _create_shadow(db, shadow)
        target = app.head_position()
        filler = _Filler(app, shadow, batch_size)
        try:
            while filler.position < target:
                with db.begin() as conn:
                    # No WAL flush to wait for: a crash loses only shadow rows, which an
                    # interrupted rebuild drops anyway; the swap commits durably.
                    conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                    _find_rows_by_index(conn)
                    if not filler.fill(conn, stop=target, ahead=True):
                        break
                report(filler.position, target)
            with db.begin() as conn:
                _swap(conn, app, projection, shadow, filler)
        finally:
            filler.close()
        report(filler.position, max(target, filler.position))
    seconds = time.perf_counter() - started
    events = _events_up_to(db, filler.position)
    return RebuildResult(events, seconds, events / seconds if seconds else 0.0, filler.applied)


def _find_rows_by_index(conn: Connection) -> None:
    """A page's load finds thousands of ids in shadow tables that grow with every page.
    PostgreSQL's costs then prefer one sequential scan per page, whose time grows with the
    table (the whole rebuild quadratic in the view's size: 4 ms a page at first, 20 ms at
    80k rows), to the index probes, whose time does not: forbid it for this transaction."""
    conn.execute(sa.text("SET LOCAL enable_seqscan TO OFF"))


def _planner_knows_the_log(db: Engine) -> bool:
    """ANALYZE the log first if its statistics are behind, as PostgreSQL's autovacuum would
    soon (more changes since the last ANALYZE than 50 + 10% of its rows); True if it did.

    A page is read by a range of notification ids and a list of topics. Planned from
    statistics of a log a tenth its size, that range looked like a few thousand rows, and
    PostgreSQL chose a bitmap scan of the WHOLE remaining range, then a sort, for every
    page: 312 ms a page of 2,000 at the start of 320k events, against 2.2 ms for the index
    scan it picks once it knows the log, and a rebuild twice as long (adr/0033). A log just
    filled by an import, or by a bench, is in that state until autovacuum gets to it.
    """
    with db.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables"
                " WHERE relid = to_regclass(:table)"
            ),
            {"table": f'"{EVENTS_TABLE}"'},
        ).one_or_none()
    if found is None or found[0] <= 50 + 0.1 * found[1]:
        return False
    try:
        with db.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL lock_timeout TO '{ANALYZE_LOCK_TIMEOUT}'"))
            conn.execute(sa.text(f'ANALYZE "{EVENTS_TABLE}"'))
    except sa.exc.OperationalError as exc:  # its lock is held: the rebuild goes on without
        log.warning("could not analyze the log before the rebuild", error=str(exc.orig))
        return False
    log.info("analyzed the log before the rebuild", changed=found[0], rows=found[1])
    return True


def _events_up_to(db: Engine, position: int) -> int:
    """How many events of the log lie at or before ``position`` (notification ids may have
    gaps, where an inserting transaction rolled back)."""
    with db.connect() as conn:
        found = conn.execute(
            sa.text(f'SELECT count(*) FROM "{EVENTS_TABLE}" WHERE notification_id <= :position'),
            {"position": position},
        )
        return int(found.scalar_one())


def topics_read(projection: Projection) -> frozenset[str]:
    """The topics a rebuild of ``projection`` reads from the log: those it follows, or every
    one (empty) when its class decides what it wants some other way."""
    if type(projection).wants is Follower.wants:
        return projection.topics
    return frozenset()


class _Filler:
    """Reads the log from where it stopped and applies it to the shadow tables, page by page
    as the shared follower does (projections.page), reading the next page meanwhile."""

    def __init__(self, app: CheckoutApplication, shadow: Projection, batch_size: int) -> None:
        self.app = app
        self.shadow = Member(shadow)
        # Only the projection's own topics come back from the server: most of the log
        # (the stock's events, for the payment status view) is never sent, decoded into a
        # row, or looked at.
        topics = topics_read(shadow)
        # A page of the projection's own topics is wanted whole: the next one is decoded
        # on the reading thread, while this one's statements run.
        decode = app.mapper.to_domain_event if topics else None
        self.reader = PageReader(app.recorder, batch_size, topics=topics, decode=decode)
        self.batch_size = batch_size
        self.applied = 0

    @property
    def position(self) -> int:
        return self.shadow.position

    def fill(self, conn: Connection, stop: int, ahead: bool = False) -> bool:
        """Apply the next page up to ``stop`` on ``conn``; False when there was nothing
        more to read up to it. A page shorter than a whole one was the last of its topics
        up to ``stop``: the position then moves to ``stop``, past the other topics'."""
        self.reader.stop = stop
        page, decoded = self.reader.read_decoded(self.position)
        if not page:
            self.shadow.position = max(self.position, stop)
            return False
        if ahead and len(page) >= self.batch_size:
            self.reader.read_ahead(page[-1].id)
        # The shadow has no tracking row: the swap sets the live one's position. Never
        # prepared: a generic plan made on the first pages, while the shadow tables were
        # empty, would scan them whole on every later page; planning a page of thousands
        # of events costs nothing beside it.
        apply_page(
            conn,
            self.app.mapper,
            page,
            [self.shadow],
            track=False,
            prepare=False,
            decoded=decoded,
        )
        self.shadow.position = page[-1].id if len(page) >= self.batch_size else stop
        self.applied += len(page)
        return True

    def close(self) -> None:
        self.reader.close()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A page makes tens of thousands of short-lived objects (rows, notifications, events),
    freed by their reference counts, and each 700 of them started a collection of the
    youngest generation, every tenth of those one of the middle, and so on up to the whole
    heap. On a 630,074-event log of paid checkouts that was a third of the rebuild's time:
    16.9 s with the default thresholds, 10.0-11.8 s with this one, 10.9-11.1 s with the
    collector off (adr/0032). The thresholds are the process's: they are put back when the
    rebuild ends."""
    before = gc.get_threshold()
    gc.set_threshold(REBUILD_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def _exclusive_rebuild(db: Engine, name: str) -> Iterator[None]:
    """Two rebuilds of one projection would drop each other's shadow tables."""
    conn = db.connect().execution_options(isolation_level="AUTOCOMMIT")
    key = sa.func.hashtext(f"rebuild:{name}")
    try:
        if not conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one():
            raise RebuildInProgress(name)
        try:
            yield
        finally:
            # At once: the server ends a closed session a moment later, and a rebuild
            # started right after this one would find the lock still held.
            conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
    finally:
        conn.invalidate()  # ends the session, and with it the lock if the unlock failed
        conn.close()


def _create_shadow(db: Engine, shadow: Projection) -> None:
    with db.begin() as conn:
        for table in shadow.tables:
            table.drop(conn, checkfirst=True)  # left over from an interrupted rebuild
            table.create(conn)


def _swap(
    conn: Connection,
    app: CheckoutApplication,
    live: Projection,
    shadow: Projection,
    filler: _Filler,
) -> None:
    quote = conn.dialect.identifier_preparer.format_table
    # Tables before the tracking row: the order a runner's batch takes them in.
    for table in live.tables:
        conn.execute(sa.text(f"LOCK TABLE {quote(table)} IN ACCESS EXCLUSIVE MODE"))
    ensure_tracking_row(conn, live.name)
    read_position(conn, live.name, for_update=True)
    # Up to the head as it is now, taken before the reads: every event at or before it has
    # committed (adr/0003), so the position can move past other topics' events to it, and
    # what commits later is the live follower's, from there.
    head = app.head_position()
    _find_rows_by_index(conn)
    while filler.fill(conn, stop=head):
        pass
    for old, new in zip(live.tables, shadow.tables, strict=True):
        conn.execute(sa.text(f"DROP TABLE {quote(old)}"))
        conn.execute(sa.text(f"ALTER TABLE {quote(new)} RENAME TO {quote(old)}"))
        _rename_indexes(conn, old.name, new.name)
    set_position(conn, live.name, filler.position)


def _rename_indexes(conn: Connection, table: str, shadow_name: str) -> None:
    """Index and constraint names embed the table name (schema.NAMING_CONVENTION)."""
    quote = conn.dialect.identifier_preparer.quote
    names = conn.execute(
        sa.text(
            "SELECT indexname FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = :table"
        ),
        {"table": table},
    ).scalars()
    for name in list(names):
        if shadow_name in name:
            renamed = name.replace(shadow_name, table)
            # Renaming a constraint's index renames the constraint too.
            conn.execute(sa.text(f"ALTER INDEX {quote(name)} RENAME TO {quote(renamed)}"))
