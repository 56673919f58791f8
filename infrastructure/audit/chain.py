"""The hash chain over the whole event log, kept by a follower after commit (adr/0015).

Each event's link is SHA-256 over the previous link and the event exactly as it is stored
(`chain_link` defines the bytes). The follower reads the raw records of the notification
log, never decoded domain events, so what it hashes is what an auditor's recomputation
hashes, byte for byte, whatever the mapper (compression, encryption, upcasting) does.

It follows the log the way the relay does (adr/0003, adr/0007): read the committed head,
then the notifications after the position up to that head; the recorder's table lock
makes ids up to a committed head final, so no event is chained out of order or skipped.
Each batch's `audit_chain` rows and the follower's position (`projection_tracking`, name
"audit_chain") commit in one transaction, with the position's compare-and-set, so a
crash loses a whole batch or nothing and a restart resumes from the stored link.

One instance is active: it holds a session advisory lock on a connection that also
LISTENs for commits, as the projection runner does; standbys retry every second.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import sqlalchemy as sa
import structlog
from eventsourcing.persistence import StoredEvent
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from application.backoff import Backoff
from infrastructure.audit.anchors import Anchoring, ChainHead
from projections.migrations import upgrade_database
from projections.rows import RowsUpsert
from projections.runner import CONNECTION_LOST, channel_of
from projections.schema import audit_chain
from projections.tracking import PositionMoved, ensure_tracking_row, read_position, run_gated

log = structlog.get_logger(__name__)

FOLLOWER_NAME = "audit_chain"  # its projection_tracking row; never changes once stored
LOCK_KEY = "audit:audit_chain"

# The first link's "previous": SHA-256 of a fixed label, so a chain can't be mistaken for
# one of another format version. Its hex is in adr/0015.
GENESIS = hashlib.sha256(b"checkout-engine audit chain v1").digest()
# A batch's links, in one statement with the position's compare-and-set (run_gated).
_INSERT_LINKS = RowsUpsert(
    audit_chain,
    ("notification_id", "originator_id", "originator_version", "topic", "link"),
    on_conflict=False,
)

_U64 = struct.Struct(">Q")
_U32 = struct.Struct(">I")
FAILURE_BACKOFF = Backoff(initial=0.2, maximum=5.0)


def originator_text(originator_id: UUID | str) -> str:
    """The originator id as hashed: a UUID's canonical lowercase hyphenated form."""
    return str(originator_id)


def chain_link(previous: bytes, notification_id: int, event: StoredEvent) -> bytes:
    """SHA-256(previous ‖ id ‖ originator id ‖ version ‖ topic ‖ state), 32 raw bytes.

    The encoding (adr/0015): ``previous`` as its 32 raw bytes; the notification id and the
    originator version as unsigned 64-bit big-endian integers; the originator id (UTF-8 of
    its canonical text), the topic (UTF-8) and the stored state (raw bytes) each as an
    unsigned 32-bit big-endian length followed by the bytes. Fixed widths and length
    prefixes make the concatenation unambiguous: no two different events give the same
    bytes, whatever their fields contain.
    """
    return link_of(
        previous,
        notification_id,
        originator_text(event.originator_id),
        event.originator_version,
        event.topic,
        event.state,
    )


def link_of(
    previous: bytes, notification_id: int, originator: str, version: int, topic: str, state: bytes
) -> bytes:
    """`chain_link` on the fields themselves, the originator id already as its text."""
    originator_bytes = originator.encode()
    topic_bytes = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                previous,
                _U64.pack(notification_id),
                _U32.pack(len(originator_bytes)),
                originator_bytes,
                _U64.pack(version),
                _U32.pack(len(topic_bytes)),
                topic_bytes,
                _U32.pack(len(state)),
                state,
            )
        )
    ).digest()


@dataclass(frozen=True)
class StoredChain:
    """Where the stored chain ends: the follower's position and the last link up to it."""

    position: int
    head: ChainHead | None  # the last chained event; None while nothing is chained


def stored_chain(conn: Connection) -> StoredChain:
    """Where the chain stands; reads only (`audit verify` must not write)."""
    position = read_position(conn, FOLLOWER_NAME)
    t = audit_chain
    row = conn.execute(
        sa.select(t.c.notification_id, t.c.link)
        .where(t.c.notification_id <= position)
        .order_by(t.c.notification_id.desc())
        .limit(1)
    ).first()
    head = ChainHead(int(row[0]), str(row[1])) if row is not None else None
    return StoredChain(position, head)


class AuditChain:
    """Keeps `audit_chain` up to date with the notification log, and anchors its head."""

    def __init__(
        self,
        app: CheckoutApplication,
        db: Engine,
        *,
        anchoring: Anchoring | None = None,
        batch_size: int = 1000,
        standby_retry: float = 1.0,
        safety_poll: float = 5.0,
        gather: float = 0.05,
    ) -> None:
        self.app = app
        self.db = db
        self.gather = gather
        self.anchoring = anchoring
        self.batch_size = batch_size
        self.standby_retry = standby_retry
        self.safety_poll = safety_poll
        self.channel = channel_of(app)
        self.active = threading.Event()  # set while this instance holds the lock
        self.position = 0
        self._previous = GENESIS
        self._head: ChainHead | None = None

    # -- following ----------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        """Stand by, lead, and chain the log until ``stop`` is set."""
        while not stop.is_set():
            try:
                self._stand_by_then_lead(stop)
            except CONNECTION_LOST as exc:
                log.warning("audit chain connection lost", error=str(exc))
                stop.wait(self.standby_retry)

    def _stand_by_then_lead(self, stop: threading.Event) -> None:
        conn = self.db.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            key = sa.func.hashtext(LOCK_KEY)
            while not conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar_one():
                if stop.wait(self.standby_retry):
                    return
            # LISTEN before the first read: no commit after that read goes unnoticed.
            conn.execute(sa.text(f'LISTEN "{self.channel}"'))
            upgrade_database(self.db)
            self.active.set()
            log.info("audit chain active")
            self._lead(conn, stop)
        finally:
            self.active.clear()
            # Closing the session (not pooling it) releases the lock and the LISTEN.
            conn.invalidate()
            conn.close()

    def _lead(self, conn: Connection, stop: threading.Event) -> None:
        listener = conn.connection.driver_connection
        assert isinstance(listener, psycopg.Connection)
        self._load()
        failures = 0
        while not stop.is_set():
            try:
                more = self.step()
                failures = 0
            except CONNECTION_LOST:
                raise
            except Exception as exc:  # a retry from the stored link cures the rest
                failures += 1
                log.warning("audit chain batch failed, will retry", error=str(exc))
                stop.wait(FAILURE_BACKOFF.delay(failures))
                self._load()
                continue
            self._anchor_if_due()
            if not more:
                self._wait_for_commit(listener, stop)

    def catch_up(self) -> int:
        """Chain everything committed so far in the calling thread; returns the position.

        For tests, the bench and tools: no lock, the position's compare-and-set alone keeps
        it exactly-once next to a live follower. It anchors as the follower does.
        """
        self._load()
        more = True
        while more:
            more = self.step()
            self._anchor_if_due()
        return self.position

    def step(self) -> bool:
        """Chain the next batch; True when more may be waiting (the batch was full).

        Reading after the position is gap-free whenever it runs (adr/0003), as for every
        follower, so no look at the head comes first.
        """
        batch = self.app.recorder.select_notifications(
            start=self.position, limit=self.batch_size, inclusive_of_start=False
        )
        if not batch:
            return False
        try:
            self._chain(batch)
        except PositionMoved:
            self._load()  # another writer (a catch-up) chained it: resume from there
            return True
        return len(batch) >= self.batch_size

    def _chain(self, batch: Sequence[Any]) -> None:
        rows = []
        previous = self._previous
        for notification in batch:
            previous = chain_link(previous, notification.id, notification)
            rows.append(
                {
                    "notification_id": notification.id,
                    "originator_id": notification.originator_id,
                    "originator_version": notification.originator_version,
                    "topic": notification.topic,
                    "link": previous.hex(),
                }
            )
        last = batch[-1].id
        with self.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            chained = run_gated(conn, FOLLOWER_NAME, self.position, last, _INSERT_LINKS, rows)
        if chained != len(rows):
            raise PositionMoved(FOLLOWER_NAME, self.position)
        self.position = last
        self._previous = previous
        self._head = ChainHead(last, previous.hex())

    def _load(self) -> None:
        with self.db.begin() as conn:
            ensure_tracking_row(conn, FOLLOWER_NAME)  # the row its compare-and-set moves
            stored = stored_chain(conn)
        self.position = stored.position
        self._head = stored.head
        self._previous = bytes.fromhex(stored.head.link) if stored.head else GENESIS

    # -- anchoring ----------------------------------------------------------------------

    def _anchor_if_due(self) -> None:
        if self.anchoring is not None and self._head is not None:
            self.anchoring.anchor_if_due(self._head)

    def _wait_for_commit(self, listener: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Return on a NOTIFY, on ``stop``, after the safety poll, or when an anchor is due."""
        deadline = time.monotonic() + self.safety_poll
        while not stop.is_set() and time.monotonic() < deadline:
            if any(True for _ in listener.notifies(timeout=0.2, stop_after=1)):
                # Every commit notifies; the chain is not read by anyone waiting, so it
                # gathers the commits of the next ``gather`` seconds into one batch (its
                # five statements) instead of one batch per commit.
                stop.wait(self.gather)
                for _ in listener.notifies(timeout=0):  # one read serves a burst
                    pass
                return
            self._anchor_if_due()  # the M seconds run out while the log is quiet
