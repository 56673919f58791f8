"""One page of the notification log applied to several followers in one transaction.

The shared follower (projections.runner) and the rebuild (projections.rebuild) both apply
pages through ``apply_page``: each notification is decoded at most once, however many
followers want it, and each follower gets the events past its own position, in log order.
``commit_page`` wraps that, with every follower's tracking compare-and-set (one statement),
in ONE transaction: a crash loses the whole page for every follower, or nothing.

``PageReader`` reads the next page on another thread, on the recorder's own pooled
connection, while the caller writes the current one. Reading from a position is gap-free
whenever it runs (adr/0003: the recorder's table lock makes ids visible in commit order),
so reading ahead changes nothing about what is seen, only when.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from sqlalchemy.engine import Connection

from application.crash_points import crash_point
from projections.follower import DomainEvent, Follower
from projections.tracking import advance_all

Page = Sequence[Notification]


@dataclass(eq=False)
class Member:
    """A follower of a shared follower, and where it stands."""

    follower: Follower
    position: int = 0  # last committed position, as the shared follower knows it
    locked: bool = False  # holds its advisory lock (projection:<name>)
    stalled_at: int | None = None  # the dead letter it is stopped at
    catching_up: bool = False  # behind the others: it reads its own pages until it rejoins

    @property
    def name(self) -> str:
        return self.follower.name


class MemberFailed(Exception):
    """A follower's own apply raised: the page is rolled back for every follower, and the
    caller decides about that one follower (retry, or stop it at the event it refuses)."""

    def __init__(self, member: Member, error: Exception) -> None:
        super().__init__(f"{member.name}: {type(error).__name__}: {error}")
        self.member = member
        self.error = error


def apply_page(
    conn: Connection, mapper: Mapper[UUID], page: Page, members: Sequence[Member]
) -> list[tuple[str, int, int]]:
    """Apply ``page`` to every member past its position, on ``conn``; returns the tracking
    moves (name, expected, new) for the members it concerned."""
    last = page[-1].id
    decoded: dict[int, DomainEvent] = {}
    moves: list[tuple[str, int, int]] = []
    for member in members:
        if member.position >= last:
            continue  # ahead of this page (a rebuild set it): nothing to do, nothing to move
        wants = member.follower.wants
        events: list[DomainEvent] = []
        for notification in page:
            if notification.id <= member.position or not wants(notification.topic):
                continue
            event = decoded.get(notification.id)
            if event is None:
                event = decoded[notification.id] = mapper.to_domain_event(notification)
            events.append(event)
        try:
            member.follower.apply_batch(conn, events)
        except Exception as exc:
            raise MemberFailed(member, exc) from exc
        moves.append((member.name, member.position, last))
    return moves


def commit_page(
    conn: Connection, mapper: Mapper[UUID], page: Page, members: Sequence[Member]
) -> int:
    """Apply ``page`` and advance every member's position, in one transaction on ``conn``
    (none open); returns the page's last position. Raises PositionMoved (nothing committed)
    if any member moved."""
    with conn.begin():
        moves = apply_page(conn, mapper, page, members)
        advance_all(conn, moves)
        crash_point("projector.before_commit")
    last = page[-1].id
    for member in members:
        member.position = max(member.position, last)
    return last


class PageReader:
    """Reads pages after a position; ``read_ahead`` starts the next one on a thread."""

    def __init__(
        self, recorder: ApplicationRecorder, batch_size: int, stop: int | None = None
    ) -> None:
        self.recorder = recorder
        self.batch_size = batch_size
        self.stop = stop
        self._threads: ThreadPoolExecutor | None = None
        self._ahead: tuple[tuple[int, int | None], Future[list[Notification]]] | None = None

    def select(self, start: int) -> list[Notification]:
        return self._select(start, self.stop)

    def _select(self, start: int, stop: int | None) -> list[Notification]:
        return list(
            self.recorder.select_notifications(
                start=start, limit=self.batch_size, stop=stop, inclusive_of_start=False
            )
        )

    def read(self, start: int) -> list[Notification]:
        """The page after ``start``: the one read ahead if it was for ``start`` and found
        something (an empty one may predate the latest commits), else a fresh read."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            at, future = ahead
            page = future.result()  # also when unused: its errors are not left unseen
            if at == (start, self.stop) and page:
                return page
        return self.select(start)

    def read_ahead(self, start: int) -> None:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(1, thread_name_prefix="page-reader")
        self._ahead = ((start, self.stop), self._threads.submit(self._select, start, self.stop))

    def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        if ahead is not None and not ahead[1].cancelled():
            ahead[1].exception()  # consumed, so a failed read-ahead logs nothing at exit
