"""The shared follower: one per process, keeping every follower of that process (the views,
the audit's stock index; in the worker, the provider-task feed) up with the log (adr/0022).

One page at a time: each page is read once, each notification decoded once, and the page
is applied to every follower in ONE transaction, with each follower's tracking position
advanced by a compare-and-set in that same transaction (projections.page). A crash loses
the whole page for every follower, or nothing; a restart resumes from the committed
positions. While a full page's transaction writes (the log is behind), the next page is read
on another connection.

Single active, per follower: the shared follower holds the session advisory lock
``projection:<name>`` of each follower it runs, on one dedicated connection. The key is the
one every release has used, so a runner of the previous release still live during a rolling
deploy keeps its follower until it stops; meanwhile the others go on without it, and the
lock is tried again every ``standby_retry`` seconds. The position compare-and-set makes a
double application impossible even if two writers ever overlapped.

Wake-up: that same connection LISTENs on the events table's channel (the recorder NOTIFYs
in each inserting transaction), so a dead session drops the locks and the wake-up together.
Reading pages with ``select_notifications`` after each wake-up is the gap-free read of
adr/0003 with batching. A slow poll covers lost notifications.

A follower that refuses an event (its tables or its own code) stops at it alone: it records
a dead letter, drops out of the shared pages (its position stays before the event), and the
others go on (adr/0013, adr/0022). When an operator skips or retries, it reads its own pages
until it is back with the others, then rejoins them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
import structlog
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from application.backoff import Backoff
from projections.dead_letters import RETRIED, DeadLetters
from projections.failures import CONNECTION_LOST, RETRYABLE, as_uuid, is_refused
from projections.follower import Follower
from projections.migrations import upgrade_database
from projections.page import Member, MemberFailed, Page, PageFailed, PageReader, commit_page
from projections.rebuild import RebuildResult, rebuild
from projections.status import ProjectionStatus, status
from projections.tracking import (
    PositionMoved,
    ensure_tracking_row,
    position,
    read_positions,
    wait_for_position,
)

__all__ = [
    "CONNECTION_LOST",
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildResult",
    "SharedFollower",
    "position",
    "rebuild",
    "status",
    "wait_for_position",
]

log = structlog.get_logger(__name__)

# The page connection, and its prepared statements with it, is renewed once the log has
# grown by this many events since it was opened, and doubled (SharedFollower._page_connection).
REPLAN_AFTER_EVENTS = 1000

# A failure that repeats (database down, a bad migration) waits up to a second.
REPEATED_FAILURE = Backoff(initial=0.2, maximum=1.0)

# The lock key of a follower is this and its name: the key every release has used, so a
# runner of the previous release, still live during a rolling deploy, contends for it.
LOCK_PREFIX = "projection:"
# Tries the locks of the followers not held yet, in one statement.
_TRY_LOCKS = sa.text(
    "SELECT name FROM unnest(CAST(:names AS text[])) AS name "
    f"WHERE pg_try_advisory_lock(hashtext('{LOCK_PREFIX}' || name))"
)


def channel_of(app: CheckoutApplication) -> str:
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError("projections follow a PostgreSQL notification log")
    return recorder.channel_name


def lock_key(name: str) -> str:
    return f"{LOCK_PREFIX}{name}"


def gather_left(read_at: float, gather: float, now: float) -> float:
    """How long to wait before the next read at the head: reads begin ``gather`` apart,
    and at once after a page that took longer."""
    return max(0.0, read_at + gather - now)


class SharedFollower:
    """Keeps several followers up with the application's notification log, together."""

    def __init__(
        self,
        app: CheckoutApplication,
        db: Engine,
        followers: Sequence[Follower],
        *,
        batch_size: int = 500,
        standby_retry: float = 1.0,
        safety_poll: float = 5.0,
        stall_poll: float = 1.0,
        read_ahead: bool = True,
        gather: float = 0.02,
    ) -> None:
        names = [f.name for f in followers]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"followers need distinct names, got {names}")
        self.app = app
        self.db = db
        self.members = [Member(f) for f in followers]
        self.batch_size = batch_size
        self.standby_retry = standby_retry
        self.safety_poll = safety_poll
        self.stall_poll = stall_poll
        self.read_ahead = read_ahead
        # At the head, reads begin at least this long apart (woken from idle, this long
        # after the wake-up): the commits of that moment then make one page, not one page
        # each (a page costs about the same CPU whether it holds one commit or ten), for a
        # few ms of lag. A page that took longer to commit is followed by a read at once.
        self.gather = gather
        self._full = False  # the last shared page was a full one: more is waiting
        self.dead_letters = DeadLetters(db)
        self.channel = channel_of(app)
        self.active = threading.Event()  # set while this instance holds any follower's lock
        self.stalled = threading.Event()  # set while any follower is stopped at a dead letter
        self.retries = 0  # pages rolled back and redone from the stored positions
        self._failing = 0  # consecutive failed pages
        self._next_locks = 0.0
        self._next_stall_check = 0.0
        self._connection: Connection | None = None
        self._opened_at = 0  # the position the page connection was opened at
        self._read_at = 0.0  # when the last page's read began

    def _commit(self, page: Page, members: Sequence[Member]) -> int:
        """``commit_page`` on this follower's own connection, kept from page to page: no
        pool check-out (and its ping) per page, and its prepared statements stay. Any
        failure drops it; the next page connects afresh."""
        connection = self._page_connection(page[-1].id)
        try:
            return commit_page(connection, self.app.mapper, page, members)
        except BaseException:
            self._disconnect()
            raise

    def _page_connection(self, at: int) -> Connection:
        """The connection for a page that ends at ``at``: the one kept, unless the log has
        doubled since it was opened, and a new one then.

        psycopg prepares a page's two statements once their text has run a few times, and
        PostgreSQL soon runs their generic plan, made for the tables as they were then and
        kept until the next ANALYZE of one of them. Made while the tables were small (a new
        database), that plan scanned every row of each view against every id of every page,
        and hash-joined the whole events table for the stock movements: in the bench, whose
        tables start empty, those scans became most of a page's time as the tables grew.
        A new connection prepares afresh, so a plan serves tables at most about twice the
        size it was made for, for a few new connections in the log's whole life. Planning
        every page instead (never preparing) cost about 1.4 ms of PostgreSQL's CPU per page
        here.
        """
        if self._connection is not None and at >= 2 * self._opened_at + REPLAN_AFTER_EVENTS:
            self._disconnect()
        if self._connection is None:
            self._connection = self.db.connect()
            self._opened_at = at
        return self._connection

    def _disconnect(self) -> None:
        """Close the page connection for good (not back to the pool, where another could
        take it with its prepared statements and their plans)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.invalidate()
            connection.close()

    @property
    def position(self) -> int:
        """The lowest committed position of its followers (the one, for a single one)."""
        return min(member.position for member in self.members)

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    # -- leading ------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Stand by, lead, and follow the log until ``stop`` is set."""
        while not stop.is_set():
            try:
                self._stand_by_then_lead(stop)
            except CONNECTION_LOST as exc:
                log.warning("follower connection lost", followers=self._names(), error=str(exc))
                stop.wait(self.standby_retry)

    def _names(self, members: Sequence[Member] | None = None) -> list[str]:
        return [m.name for m in (self.members if members is None else members)]

    def _stand_by_then_lead(self, stop: threading.Event) -> None:
        # Before any lock: taking one reads the follower's tracking row.
        upgrade_database(self.db)
        conn = self.db.connect().execution_options(isolation_level="AUTOCOMMIT")
        reader = PageReader(self.app.recorder, self.batch_size)
        try:
            while not self._take_locks(conn):
                if stop.wait(self.standby_retry):
                    return
            conn.execute(sa.text(f'LISTEN "{self.channel}"'))
            self.active.set()
            self._lead(conn, reader, stop)
        finally:
            self.active.clear()
            for member in self.members:
                member.locked = False
            reader.close()
            self._disconnect()
            # Closing the session (not returning it to the pool) releases the locks
            # and the LISTEN, so no pooled connection carries them.
            conn.invalidate()
            conn.close()

    def _take_locks(self, conn: Connection) -> bool:
        """Try the locks of the followers not held yet; True while any is held."""
        waiting = [m for m in self.members if not m.locked]
        if waiting:
            taken = set(conn.execute(_TRY_LOCKS, {"names": self._names(waiting)}).scalars())
            joined = [m for m in waiting if m.name in taken]
            if joined:
                self._join(joined)
        self._next_locks = time.monotonic() + self.standby_retry
        return any(m.locked for m in self.members)

    def _join(self, joined: Sequence[Member]) -> None:
        """Followers whose lock was just taken: behind the others, they catch up alone."""
        running = [m for m in self.members if m.locked and not m.catching_up]
        self._reload(joined)
        if running:
            cursor = min(m.position for m in running)
        else:
            cursor = max(m.position for m in joined) - self.batch_size
        for member in joined:
            member.locked = True
            member.catching_up = member.position < cursor
        log.info("followers active", followers=self._names(joined))

    def _reload(self, members: Sequence[Member]) -> None:
        with self.db.begin() as conn:
            for member in members:
                ensure_tracking_row(conn, member.name)
            stored = read_positions(conn, self._names(members))
        for member in members:
            member.position = stored[member.name]

    def _lead(self, conn: Connection, reader: PageReader, stop: threading.Event) -> None:
        listener = conn.connection.driver_connection
        assert isinstance(listener, psycopg.Connection)
        while not stop.is_set():
            now = time.monotonic()
            if now >= self._next_locks and not all(m.locked for m in self.members):
                self._take_locks(conn)
            if now >= self._next_stall_check:
                self._check_stalls()
            if self._step(reader, stop):
                # At the head under load, every page would hold what one page's commit
                # took to arrive: gather for a moment instead, so a page carries several
                # commits (its dozen statements serve them all). The gather counts from
                # the last read, not from its commit: waiting the whole gather after a
                # slow commit left the commits of that moment waiting twice (at 32
                # clients here, reads began 62 ms apart at p50, not 22). Behind, read on.
                if not self._full:
                    stop.wait(gather_left(self._read_at, self.gather, time.monotonic()))
            elif self._wait_for_events(listener, stop):
                stop.wait(self.gather)

    def _step(self, reader: PageReader, stop: threading.Event) -> bool:
        """One page for the followers together, and one for each that catches up alone;
        False when there was nothing to read."""
        ready = [m for m in self.members if m.locked and m.stalled_at is None]
        if not ready:
            return False
        group = [m for m in ready if not m.catching_up] or ready
        cursor = min(m.position for m in group)
        for member in ready:
            if member.catching_up and member.position >= cursor:
                member.catching_up = False  # back with the others: it shares their pages
        group = [m for m in ready if not m.catching_up]
        worked = False
        for member in ready:
            if member.catching_up:
                worked |= self._follow(reader.select(member.position), [member], stop)
        self._read_at = time.monotonic()
        page = reader.read(cursor)
        self._full = len(page) >= self.batch_size
        # Behind the head (a full page), the next page is there to read while this one
        # commits. At the head, a read after the commit gathers what came in meanwhile
        # into one page, where a read ahead would find a page of one commit or none.
        if self.read_ahead and len(page) >= self.batch_size:
            reader.read_ahead(page[-1].id)
        return self._follow(page, group, stop) or worked

    def _follow(self, page: Page, members: Sequence[Member], stop: threading.Event) -> bool:
        if not page:
            return False
        try:
            self._commit(page, members)
            self._failing = 0
        except PageFailed as failed:
            if not is_refused(failed.error):
                return self._follow_failed(failed.error, stop)
            # A statement several followers shared refused a value: each on its own
            # finds out whose it was (that one stops at its event, as below).
            for member in failed.members:
                self._follow(page, [member], stop)
            others = [m for m in members if m not in failed.members]
            if others:
                self._follow(page, others, stop)
        except MemberFailed as failed:
            if is_refused(failed.error):
                self._isolate(failed.member, page)
            else:
                self._follow_failed(failed.error, stop)
        except RETRYABLE as exc:
            self._retry_later(exc, stop)
        return True

    def _follow_failed(self, error: Exception, stop: threading.Event) -> bool:
        if isinstance(error, RETRYABLE):
            self._retry_later(error, stop)
            return True
        raise error from None  # the connection went away: stand by again

    def _retry_later(self, exc: Exception, stop: threading.Event) -> None:
        self.retries += 1
        self._failing += 1
        log.warning(
            "follower page rolled back, will retry", followers=self._names(), error=str(exc)
        )
        # A swap by a rebuild is cured at once; a failure that repeats backs off.
        if self._failing > 1:
            stop.wait(REPEATED_FAILURE.delay(self._failing - 1))
        self._reload([m for m in self.members if m.locked])

    # -- stopping at an event a follower refuses ----------------------------------------

    def _isolate(self, member: Member, page: Page) -> None:
        """Apply the page to ``member`` alone, one event at a time, up to the one it
        refuses: it stops there and the others redo the page without it."""
        for notification in page:
            if notification.id <= member.position:
                continue
            try:
                self._commit([notification], [member])
            except MemberFailed as failed:
                if is_refused(failed.error):
                    self._stall(member, notification, failed.error)
                return  # otherwise transient after all: the next pass retries from here
            except RETRYABLE:
                self._reload([member])
                return

    def _stall(self, member: Member, notification: Notification, exc: Exception) -> None:
        """Record the dead letter and say so loudly; the others go on without it."""
        error = f"{type(exc).__name__}: {exc}"
        letter = self.dead_letters.record(
            member.name,
            notification.id,
            notification.topic,
            as_uuid(notification.originator_id),
            notification.originator_version,
            error,
        )
        log.error(
            "follower stopped: an event it cannot apply (followers skip or retry)",
            projection=member.name,
            position=notification.id,
            topic=notification.topic,
            originator=str(notification.originator_id),
            attempts=letter.attempts,
            error=error,
        )
        member.stalled_at = notification.id
        self.stalled.set()
        self._next_stall_check = time.monotonic() + self.stall_poll

    def _check_stalls(self) -> None:
        """Resume the followers an operator has decided about (skip, or retry)."""
        self._next_stall_check = time.monotonic() + self.stall_poll
        for member in self.members:
            if member.stalled_at is None:
                continue
            found = self.dead_letters.get(member.name, member.stalled_at)
            if found is not None and found.resolution is None:
                continue
            if found is not None and found.resolution == RETRIED:
                log.warning("follower retries a dead letter", projection=member.name)
            member.stalled_at = None
            member.catching_up = True
            self._reload([member])  # a skip moved its position past the event
        if all(m.stalled_at is None for m in self.members):
            self.stalled.clear()

    def _wait_for_events(self, listener: psycopg.Connection[Any], stop: threading.Event) -> bool:
        """Return on a NOTIFY (True), on ``stop`` (checked every 0.2 s), after the safety
        poll, or when a lock or a stopped follower is due for another look."""
        timeout = self.safety_poll
        if any(m.stalled_at is not None for m in self.members):
            timeout = min(timeout, self.stall_poll)
        if not all(m.locked for m in self.members):
            timeout = min(timeout, self.standby_retry)
        deadline = time.monotonic() + timeout
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if any(True for _ in listener.notifies(timeout=min(0.2, left), stop_after=1)):
                # Several commits may have notified: one read serves them all.
                for _ in listener.notifies(timeout=0):
                    pass
                return True
        return False

    # -- in the caller's thread -----------------------------------------------------------

    def catch_up(self) -> int:
        """Process everything committed so far in the calling thread; returns the position.

        For tests, benchmarks and one-off tools: it takes no lock, and relies on the
        position compare-and-set alone, which keeps it exactly-once next to a live runner.
        """
        reader = PageReader(self.app.recorder, self.batch_size)
        self._reload(self.members)
        try:
            while page := reader.read(self.position):
                if self.read_ahead and len(page) >= self.batch_size:
                    reader.read_ahead(page[-1].id)
                try:
                    self._commit(page, self.members)
                except PositionMoved:
                    self._reload(self.members)
                except (MemberFailed, PageFailed) as failed:
                    raise failed.error from None  # as the follower raised it
        finally:
            reader.close()
            self._disconnect()
        return self.position


class ProjectionRunner(SharedFollower):
    """A shared follower of one follower: what tests and one-off tools run."""

    def __init__(
        self, app: CheckoutApplication, db: Engine, follower: Follower, **options: Any
    ) -> None:
        super().__init__(app, db, [follower], **options)
        self.follower = follower

    @property
    def lock_key(self) -> str:
        return lock_key(self.follower.name)
