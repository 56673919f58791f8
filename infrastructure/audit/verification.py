"""Recompute the hash chain from the stored events and compare it (adr/0015).

One streaming pass in log order merges the events (raw records, as the chain follower read
them) with the `audit_chain` rows, in pages, so memory stays flat however long the log is.
Two chains are carried along:

- each event against its own chain row: its link recomputed from the *stored* previous
  link. This names the first event altered, inserted or removed, and the events after it
  still check against their own rows, so one edit is not reported as a million;
- the chain recomputed from the events alone, from the genesis value: what the anchors
  are compared with. It catches a log whose chain table was rewritten to agree with it.

An event after the follower's position is not chained yet, which is no finding; its link
is still recomputed, for an anchor that lies beyond a position someone moved back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.audit.anchors import Anchor
from infrastructure.audit.chain import GENESIS, link_of, stored_chain

PAGE = 10_000
MAX_REPORTED = 20  # findings listed per kind; the first one is what matters

Progress = Callable[[int, int], None]
_NEVER = 2**63  # beyond any notification id


class Kind(StrEnum):
    ALTERED = "altered"  # same place, other content
    LINK = "link"  # the chain's own row edited: the events around it still chain
    MOVED = "moved"  # another event's id, version or topic at this notification id
    INSERTED = "inserted"  # an event the chain never saw, within the chained range
    REMOVED = "removed"  # a chained event that is gone
    ANCHOR = "anchor"  # an anchor the log no longer matches
    SIGNATURE = "signature"  # an anchor whose HMAC does not hold (or is missing)


@dataclass(frozen=True)
class Finding:
    kind: Kind
    notification_id: int
    detail: str

    def __str__(self) -> str:
        return self.detail


# (notification id, originator id as text, version, topic, state) as stored, and
# (notification id, originator id as text, version, topic, link) as chained.
EventRow = tuple[int, str, int, str, bytes]
ChainRow = tuple[int, str, int, str, str]


@dataclass
class Verification:
    head: int = 0  # the log head when the pass began
    position: int = 0  # the chain follower's position then
    events: int = 0  # events read
    chained: int = 0  # events compared with a chain row
    anchors: int = 0
    signatures_checked: bool = False
    seconds: float = 0.0
    events_findings: list[Finding] = field(default_factory=list)
    anchor_findings: list[Finding] = field(default_factory=list)
    event_findings_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.events_findings and not self.anchor_findings

    @property
    def first(self) -> Finding | None:
        findings = self.events_findings or self.anchor_findings
        return findings[0] if findings else None

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def add_event_finding(self, finding: Finding) -> None:
        self.event_findings_total += 1
        if len(self.events_findings) < MAX_REPORTED:
            self.events_findings.append(finding)


class _Snapshot:
    """The events and the chain rows as one REPEATABLE READ snapshot saw them, each read
    through its own server-side cursor in notification id order (an index scan each), so
    both streams are consistent with each other and memory stays flat."""

    def __init__(self, conn: psycopg.Connection[Any], events_table: sql.Composable) -> None:
        self.conn = conn
        self.events_table = events_table

    def head(self) -> int:
        query = sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
            self.events_table
        )
        row = self.conn.execute(query).fetchone()
        return int(row[0]) if row else 0

    def events(self, head: int, page: int) -> Iterator[list[EventRow]]:
        # The originator id as PostgreSQL's uuid text, which is Python's str(UUID).
        query = sql.SQL(
            "SELECT notification_id, originator_id::text, originator_version, topic, state"
            " FROM {} WHERE notification_id <= %s ORDER BY notification_id"
        ).format(self.events_table)
        with self.conn.cursor(name="audit_verify_events") as cursor:
            cursor.execute(query, (head,))
            while batch := cursor.fetchmany(page):
                yield [(n, o, v, t, bytes(s)) for n, o, v, t, s in batch]

    def chain_rows(self, position: int, page: int) -> Iterator[ChainRow]:
        query = (
            "SELECT notification_id, originator_id::text, originator_version, topic, link"
            " FROM audit_chain WHERE notification_id <= %s ORDER BY notification_id"
        )
        with self.conn.cursor(name="audit_verify_chain") as cursor:
            cursor.execute(query, (position,))
            while batch := cursor.fetchmany(page):
                yield from batch


def _link_bytes(link: str) -> bytes | None:
    try:
        value = bytes.fromhex(link)
    except ValueError:
        return None
    return value if len(value) == 32 else None


class _Pass:
    """The merge of events and chain rows; `found` collects what does not hold."""

    def __init__(self, result: Verification, anchors: Sequence[Anchor]) -> None:
        self.result = result
        self.stored = GENESIS  # the previous link as the chain table holds it
        self.recomputed = GENESIS  # the chain from the events alone
        self.anchors = sorted(anchors, key=lambda a: a.notification_id)
        self.next_anchor = 0
        self.next_at = self.anchors[0].notification_id if self.anchors else _NEVER
        self.altered_at: int | None = None  # the event just reported altered, if any

    def event_and_row(self, event: EventRow, row: ChainRow) -> None:
        number, originator, version, topic, state = event
        link = link_of(self.recomputed, number, originator, version, topic, state)
        recorded = _link_bytes(row[4])
        if event[1:4] != row[1:4]:
            self.result.add_event_finding(
                Finding(
                    Kind.MOVED,
                    number,
                    f"event {number} was altered or moved: it is {topic} v{version} of "
                    f"{originator}, but the chain recorded {row[3]} v{row[2]} of {row[1]}",
                )
            )
        else:
            # While the two chains agree, one hash serves both.
            agree = self.stored == self.recomputed
            own = link if agree else link_of(self.stored, number, originator, version, topic, state)
            previous, self.altered_at = self.altered_at, None
            if own != recorded and link == recorded and previous == number - 1:
                # This event chains from the link its predecessor's state gives, not from
                # the link recorded for it: that row was edited, not the event before.
                self._blame_the_link(previous)
            elif own != recorded:
                self.altered_at = number
                self.result.add_event_finding(
                    Finding(
                        Kind.ALTERED,
                        number,
                        f"event {number} was altered: its stored state no longer gives "
                        "the link the chain recorded for it",
                    )
                )
        self.stored = recorded or self.stored
        self.recomputed = link
        self.result.chained += 1
        if self.next_at <= number:
            self._anchor(number)

    def _blame_the_link(self, number: int) -> None:
        findings = self.result.events_findings
        if findings and findings[-1].notification_id == number:
            findings[-1] = Finding(
                Kind.LINK,
                number,
                f"the chain's link for event {number} was edited: the event still gives the "
                "link its successor chains from",
            )

    def event_only(self, event: EventRow) -> None:
        number = event[0]
        self.recomputed = link_of(self.recomputed, *event)
        if number <= self.result.position:
            self.result.add_event_finding(
                Finding(
                    Kind.INSERTED,
                    number,
                    f"event {number} was inserted: the chain, which covers up to "
                    f"{self.result.position}, has no link for it",
                )
            )
        self._anchor(number)

    def row_only(self, row: ChainRow) -> None:
        number, originator, version, topic, link = row
        self.result.add_event_finding(
            Finding(
                Kind.REMOVED,
                number,
                f"event {number} was removed: the chain recorded {topic} v{version} of "
                f"{originator} there",
            )
        )
        self.stored = _link_bytes(link) or self.stored
        self._anchor(number, event_present=False)

    def _anchor(self, at: int, *, event_present: bool = True) -> None:
        """Compare every anchor up to ``at`` with the chain recomputed from the events."""
        while self.next_anchor < len(self.anchors):
            anchor = self.anchors[self.next_anchor]
            if anchor.notification_id > at:
                self.next_at = anchor.notification_id
                return
            self.next_anchor += 1
            self.next_at = _NEVER
            if anchor.notification_id < at or not event_present:
                self._anchor_finding(anchor, "there is no event at that id any more")
            elif self.recomputed.hex() != anchor.link:
                self._anchor_finding(anchor, "the events no longer give its link")

    def finish(self, head: int) -> None:
        for anchor in self.anchors[self.next_anchor :]:
            self._anchor_finding(anchor, f"the log ends at {head}")

    def _anchor_finding(self, anchor: Anchor, why: str) -> None:
        self.result.anchor_findings.append(
            Finding(
                Kind.ANCHOR,
                anchor.notification_id,
                f"anchor at {anchor.notification_id} ({anchor.anchored_at}) no longer "
                f"matches: {why}",
            )
        )


def check_signatures(anchors: Sequence[Anchor], key: bytes | None) -> list[Finding]:
    if key is None:
        return []
    return [
        Finding(
            Kind.SIGNATURE,
            anchor.notification_id,
            f"anchor at {anchor.notification_id} ({anchor.anchored_at}): "
            + ("its HMAC signature does not hold" if anchor.signature else "it is not signed"),
        )
        for anchor in anchors
        if not anchor.signature_holds(key)
    ]


def verify_chain(
    app: CheckoutApplication,
    db: Engine,
    anchors: Sequence[Anchor] = (),
    key: bytes | None = None,
    *,
    progress: Progress | None = None,
    page: int = PAGE,
) -> Verification:
    """Recompute the chain from the events; compare it with `audit_chain` and ``anchors``."""
    started = time.perf_counter()
    recorder = app.recorder
    if not isinstance(recorder, PostgresApplicationRecorder):
        raise TypeError("the audit chain is kept over a PostgreSQL notification log")
    events_table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    snapshot_isolation = db.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot_isolation as conn, conn.begin():
        position = stored_chain(conn).position
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        snapshot = _Snapshot(driver, events_table)
        result = _compare(snapshot, position, anchors, key, progress, page)
    result.seconds = time.perf_counter() - started
    return result


def _compare(
    snapshot: _Snapshot,
    position: int,
    anchors: Sequence[Anchor],
    key: bytes | None,
    progress: Progress | None,
    page: int,
) -> Verification:
    head = snapshot.head()
    result = Verification(head=head, position=position, anchors=len(anchors))
    result.signatures_checked = key is not None
    result.anchor_findings.extend(check_signatures(anchors, key))
    merge = _Pass(result, anchors)
    rows = snapshot.chain_rows(position, page)
    row = next(rows, None)
    for batch in snapshot.events(head, page):
        for event in batch:
            number = event[0]
            while row is not None and row[0] < number:
                merge.row_only(row)
                row = next(rows, None)
            if row is not None and row[0] == number:
                merge.event_and_row(event, row)
                row = next(rows, None)
            else:
                merge.event_only(event)
        result.events += len(batch)
        if progress is not None:
            progress(batch[-1][0], head)
    while row is not None:
        merge.row_only(row)
        row = next(rows, None)
    merge.finish(head)
    return result
