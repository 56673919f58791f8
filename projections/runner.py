"""Runs a follower (a projection, or the worker's task feed): follows the notification log,
exactly once, one active instance.

Exactly once: each batch of notifications is applied and the tracking position advanced
in ONE transaction, with a compare-and-set on the position (``tracking.advance``). A crash
loses the whole batch or nothing; a restart resumes from the committed position.

Single active: the runner holds a PostgreSQL session advisory lock on a dedicated
connection; standbys retry every second and take over when the holder's session ends.

Wake-up: that same connection LISTENs on the events table's channel (the recorder NOTIFYs
in each inserting transaction). Sharing it means a dead session drops the lock and the
wake-up together, and the runner notices while it waits. ``recorder.subscribe()`` would
add a second connection and two threads and hands out one notification at a time, which
defeats per-batch transactions; reading pages with ``select_notifications`` after each
wake-up is the same gap-free read (adr/0003) with batching. A slow poll covers lost
notifications.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
import sqlalchemy as sa
import structlog
from eventsourcing import persistence as es_errors
from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from application.backoff import Backoff
from application.crash_points import crash_point
from projections import ALL_PROJECTIONS
from projections.dead_letters import RETRIED, DeadLetters
from projections.follower import Follower
from projections.migrations import upgrade_database
from projections.projection import Projection
from projections.rebuild import RebuildResult, rebuild
from projections.tracking import (
    PositionMoved,
    advance,
    ensure_tracking_row,
    position,
    read_position,
    wait_for_position,
)

__all__ = [
    "ProjectionRunner",
    "ProjectionStatus",
    "RebuildResult",
    "position",
    "rebuild",
    "status",
    "wait_for_position",
]

log = structlog.get_logger(__name__)

# A failure that repeats (database down, a bad migration) waits up to a second.
REPEATED_FAILURE = Backoff(initial=0.2, maximum=1.0)

# Failures that a retry from the stored position can cure: the tables were swapped by a
# rebuild, a connection dropped, a serialisation or lock timeout.
RETRYABLE = (PositionMoved, sa.exc.DBAPIError)
# Failures no retry cures: the event holds a value the tables refuse. They, and anything
# the projection's own code raises, stop the follower at that event (dead letter).
REFUSED = (sa.exc.DataError, sa.exc.IntegrityError)
# The database or our session went away; the lock, if we held it, went with the session.
CONNECTION_LOST = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es_errors.OperationalError,
    es_errors.InterfaceError,
)


def channel_of(app: CheckoutApplication) -> str:
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError("projections follow a PostgreSQL notification log")
    return recorder.channel_name


class ProjectionRunner:
    """Keeps one follower up to date with the application's notification log."""

    def __init__(
        self,
        app: CheckoutApplication,
        db: Engine,
        follower: Follower,
        *,
        batch_size: int = 500,
        standby_retry: float = 1.0,
        safety_poll: float = 5.0,
        stall_poll: float = 1.0,
    ) -> None:
        self.app = app
        self.db = db
        self.follower = follower
        self.batch_size = batch_size
        self.standby_retry = standby_retry
        self.safety_poll = safety_poll
        self.stall_poll = stall_poll
        self.dead_letters = DeadLetters(db)
        self.stalled = threading.Event()  # set while stopped at a dead letter
        self.channel = channel_of(app)
        self.active = threading.Event()  # set while this instance holds the lock
        self.position = 0  # last committed position, as this runner knows it
        self.retries = 0  # batches rolled back and redone from the stored position
        self._failing = 0  # consecutive failed batches

    @property
    def lock_key(self) -> str:
        # The key every release has used: a runner of the previous release, still live
        # during a rolling deploy, must contend for the same lock.
        return f"projection:{self.follower.name}"

    def run_forever(self, stop: threading.Event) -> None:
        """Stand by, lead, and follow the log until ``stop`` is set."""
        while not stop.is_set():
            try:
                self._stand_by_then_lead(stop)
            except CONNECTION_LOST as exc:
                log.warning(
                    "projection connection lost", projection=self.follower.name, error=str(exc)
                )
                stop.wait(self.standby_retry)

    def _stand_by_then_lead(self, stop: threading.Event) -> None:
        conn = self.db.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            while not self._try_lock(conn):
                if stop.wait(self.standby_retry):
                    return
            conn.execute(sa.text(f'LISTEN "{self.channel}"'))
            upgrade_database(self.db)
            self.active.set()
            log.info("projection active", projection=self.follower.name)
            self._lead(conn, stop)
        finally:
            self.active.clear()
            # Closing the session (not returning it to the pool) releases the lock
            # and the LISTEN, so no pooled connection carries them.
            conn.invalidate()
            conn.close()

    def _try_lock(self, conn: Connection) -> bool:
        key = sa.func.hashtext(self.lock_key)
        return bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one())

    def _lead(self, conn: Connection, stop: threading.Event) -> None:
        listener = conn.connection.driver_connection
        assert isinstance(listener, psycopg.Connection)
        self.position = self._stored_position()
        while not stop.is_set():
            notifications = self.app.recorder.select_notifications(
                start=self.position, limit=self.batch_size, inclusive_of_start=False
            )
            if notifications:
                self._process_or_retry(notifications, stop)
            else:
                self._wait_for_events(listener, stop)

    def _stored_position(self) -> int:
        with self.db.begin() as conn:
            ensure_tracking_row(conn, self.follower.name)
            return read_position(conn, self.follower.name)

    def _process_or_retry(
        self, notifications: Sequence[Notification], stop: threading.Event
    ) -> None:
        try:
            self.position = self.process(notifications, self.position)
            self._failing = 0
        except Exception as exc:
            if is_refused(exc):
                self._find_refused(notifications, stop)
                return
            if not isinstance(exc, RETRYABLE):
                raise  # the connection went away: run_forever stands by and takes over
            self.retries += 1
            self._failing += 1
            log.warning(
                "projection batch rolled back, will retry",
                projection=self.follower.name,
                error=str(exc),
            )
            # A swap by a rebuild is cured at once; a failure that repeats backs off.
            if self._failing > 1:
                stop.wait(REPEATED_FAILURE.delay(self._failing - 1))
            self.position = self._stored_position()

    def _find_refused(self, notifications: Sequence[Notification], stop: threading.Event) -> None:
        """Apply the batch one event at a time, up to the event that is refused."""
        for notification in notifications:
            try:
                self.position = self.process([notification], self.position)
            except Exception as exc:
                if not is_refused(exc):
                    return  # transient after all: the next pass retries from here
                self._stall(notification, exc, stop)
                return

    def _stall(self, notification: Notification, exc: Exception, stop: threading.Event) -> None:
        """Record the dead letter, say so loudly, and wait here for an operator's decision."""
        name = self.follower.name
        error = f"{type(exc).__name__}: {exc}"
        letter = self.dead_letters.record(
            name,
            notification.id,
            notification.topic,
            _uuid(notification.originator_id),
            notification.originator_version,
            error,
        )
        log.error(
            "projection stopped: an event it cannot apply (followers skip or retry)",
            projection=name,
            position=notification.id,
            topic=notification.topic,
            originator=str(notification.originator_id),
            attempts=letter.attempts,
            error=error,
        )
        self.stalled.set()
        decided = letter
        try:
            while not stop.wait(self.stall_poll):
                found = self.dead_letters.get(name, notification.id)
                if found is None or found.resolution is not None:
                    decided = found or decided
                    break
            if decided.resolution == RETRIED:
                log.warning("projection retries a dead letter", projection=name)
        finally:
            self.stalled.clear()
        self.position = self._stored_position()

    def catch_up(self) -> int:
        """Process everything committed so far in the calling thread; returns the position.

        For tests, benchmarks and one-off tools: it takes no lock, and relies on the
        position compare-and-set alone, which keeps it exactly-once next to a live runner.
        """
        self.position = self._stored_position()
        while True:
            notifications = self.app.recorder.select_notifications(
                start=self.position, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return self.position
            try:
                self.position = self.process(notifications, self.position)
            except PositionMoved:
                self.position = self._stored_position()

    def process(self, notifications: Sequence[Notification], expected: int) -> int:
        """Apply one batch and advance the position from ``expected``, atomically."""
        mapper = self.app.mapper
        events = [mapper.to_domain_event(n) for n in notifications if self.follower.wants(n.topic)]
        last = notifications[-1].id
        with self.db.begin() as conn:
            self.follower.apply_batch(conn, events)
            advance(conn, self.follower.name, expected, last)
            crash_point("projector.before_commit")
        return last

    def _wait_for_events(self, listener: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Return on a NOTIFY, on ``stop`` (checked every 0.2 s) or after the safety poll."""
        deadline = time.monotonic() + self.safety_poll
        while not stop.is_set() and time.monotonic() < deadline:
            if any(True for _ in listener.notifies(timeout=0.2, stop_after=1)):
                # Several commits may have notified: one read serves them all.
                for _ in listener.notifies(timeout=0):
                    pass
                return


def _uuid(value: object) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def is_refused(exc: Exception) -> bool:
    """An event no retry will apply: refused by the tables, or by the projection's code."""
    if isinstance(exc, REFUSED):
        return True
    return not isinstance(exc, (*RETRYABLE, *CONNECTION_LOST))


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float


def status(
    app: CheckoutApplication, db: Engine, projections: Sequence[Projection] = ALL_PROJECTIONS
) -> list[ProjectionStatus]:
    """Where each projection stands against the head of the log."""
    head = app.head_position()
    report = []
    for projection in projections:
        at = position(db, projection.name)
        report.append(
            ProjectionStatus(
                name=projection.name,
                position=at,
                head=head,
                lag_events=max(0, head - at),
                lag_seconds=_lag_seconds(app, at),
            )
        )
    return report


def _lag_seconds(app: CheckoutApplication, at: int) -> float:
    """Age of the oldest event not processed yet (0 when caught up)."""
    oldest = app.recorder.select_notifications(start=at, limit=1, inclusive_of_start=False)
    if not oldest:
        return 0.0
    timestamp = getattr(app.mapper.to_domain_event(oldest[0]), "timestamp", None)
    if not isinstance(timestamp, datetime):
        return 0.0
    return max(0.0, (datetime.now(UTC) - timestamp).total_seconds())
