"""One page of the notification log applied to several followers in one transaction.

The shared follower (projections.runner) and the rebuild (projections.rebuild) both apply
pages through ``apply_page``: each notification is decoded at most once, however many
followers want it, and each follower gets the events past its own position, in log order.
The planned followers' reads are one statement, and their writes with every follower's
tracking compare-and-set one more (projections.statements). ``commit_page`` wraps that in
ONE transaction: a crash loses the whole page for every follower, or nothing.

``PageReader`` reads the next page on another thread, on the recorder's own pooled
connection, while the caller writes the current one; given ``decode``, it decodes that page
there too, while the caller waits on its own statements (the rebuild's pages are all of
topics it wants). Reading from a position is gap-free
whenever it runs (adr/0003: the recorder's table lock makes ids visible in commit order),
so reading ahead changes nothing about what is seen, only when.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeGuard
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from sqlalchemy.engine import Connection

from application.crash_points import crash_point
from projections.follower import DomainEvent, Follower
from projections.rows import Write
from projections.statements import PlannedFollower, Prepared, run_loads, run_writes
from projections.tracking import PositionMoved

Page = Sequence[Notification]
Decoded = dict[int, DomainEvent]


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


class PageFailed(Exception):
    """The page's one read or one write, shared by several followers, raised: rolled back
    for every follower; the caller tells which follower it was by applying the page to
    each on its own."""

    def __init__(self, members: Sequence[Member], error: Exception) -> None:
        names = ", ".join(m.name for m in members)
        super().__init__(f"{names}: {type(error).__name__}: {error}")
        self.members = members
        self.error = error


def apply_page(
    conn: Connection,
    mapper: Mapper[UUID],
    page: Page,
    members: Sequence[Member],
    *,
    track: bool = True,
    prepare: bool | None = None,
    decoded: dict[int, DomainEvent] | None = None,
) -> None:
    """Apply ``page`` to every member past its position, on ``conn``, in the caller's
    transaction, and (``track``) move their positions with compare-and-set; raises
    PositionMoved if any had moved (the caller rolls back).

    The planned followers' reads are one statement, and their writes, with the tracking
    moves, one more (projections.statements). A follower that is not planned (or whose
    class has its own ``apply_batch``, which is honoured) then applies its batch itself,
    statement by statement.

    ``prepare``: whether the two statements may be prepared, as psycopg's ``prepare``
    (None: once a text has run a few times on ``conn``). A prepared statement soon runs
    PostgreSQL's generic plan, made for the tables as they were then: the caller that
    prepares re-plans as they grow (``SharedFollower``), or passes False.

    ``decoded``: events of the page already decoded, by notification id (the others are
    decoded here, and added to it).
    """
    last = page[-1].id
    if decoded is None:
        decoded = {}
    moves: list[tuple[str, int, int]] = []
    planned: list[tuple[Member, Prepared]] = []
    unplanned: list[tuple[Member, list[DomainEvent]]] = []
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
        follower = member.follower
        if is_planned(follower):
            try:
                planned.append((member, follower.prepare(events)))
            except Exception as exc:
                raise MemberFailed(member, exc) from exc
        else:
            unplanned.append((member, events))
        moves.append((member.name, member.position, last))
    with _blamed([member for member, prepared in planned if prepared.loads]):
        run_loads(
            conn, [load for _, prepared in planned for load in prepared.loads], prepare=prepare
        )
    writes: list[Write] = []
    writers: list[Member] = []
    for member, prepared in planned:
        try:
            found = prepared.finish()
        except Exception as exc:
            raise MemberFailed(member, exc) from exc
        if found:
            writes += found
            writers.append(member)
    if not track:
        moves = []
    with _blamed(writers):
        moved = run_writes(conn, writes, moves, prepare=prepare)
    for name, expected, _ in sorted(moves):
        if name not in moved:
            raise PositionMoved(name, expected)
    for member, events in unplanned:
        try:
            member.follower.apply_batch(conn, events)
        except Exception as exc:
            raise MemberFailed(member, exc) from exc


def is_planned(follower: Follower) -> TypeGuard[PlannedFollower]:
    """Whether the page runs ``follower``'s plan with the others'; a subclass that brings
    its own ``apply_batch`` (a test's fault injection, say) is applied through it."""
    return (
        isinstance(follower, PlannedFollower)
        and type(follower).apply_batch is PlannedFollower.apply_batch
    )


@contextmanager
def _blamed(members: Sequence[Member]) -> Iterator[None]:
    """A failure of a statement of ``members`` alone is theirs: MemberFailed for one, else
    PageFailed (the tracking compare-and-set alone fails for no follower's fault)."""
    try:
        yield
    except Exception as exc:
        if not members:
            raise
        if len(members) == 1:
            raise MemberFailed(members[0], exc) from exc
        raise PageFailed(members, exc) from exc


def commit_page(
    conn: Connection, mapper: Mapper[UUID], page: Page, members: Sequence[Member]
) -> int:
    """Apply ``page`` and advance every member's position, in one transaction on ``conn``
    (none open): BEGIN, the planned followers' reads, their writes with every position's
    compare-and-set, COMMIT. Returns the page's last position; raises PositionMoved
    (nothing committed) if any member moved."""
    with conn.begin():
        apply_page(conn, mapper, page, members)
        crash_point("projector.before_commit")
    last = page[-1].id
    for member in members:
        member.position = max(member.position, last)
    return last


class PageReader:
    """Reads pages after a position; ``read_ahead`` starts the next one on a thread."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        batch_size: int,
        stop: int | None = None,
        topics: Collection[str] = (),
        decode: Callable[[Notification], DomainEvent] | None = None,
    ) -> None:
        """``topics``: read only notifications of these (all when empty). A page then
        ends at its last such notification, not at the last one of the log it passed.
        ``decode``: decode every notification of a page read ahead, on its thread."""
        self.recorder = recorder
        self.batch_size = batch_size
        self.stop = stop
        self.topics = sorted(topics)
        self.decode = decode
        self._threads: ThreadPoolExecutor | None = None
        self._ahead: (
            tuple[tuple[int, int | None], Future[tuple[list[Notification], Decoded]]] | None
        ) = None

    def select(self, start: int) -> list[Notification]:
        return self._select(start, self.stop)

    def _select(self, start: int, stop: int | None) -> list[Notification]:
        return list(
            self.recorder.select_notifications(
                start=start,
                limit=self.batch_size,
                stop=stop,
                topics=self.topics,
                inclusive_of_start=False,
            )
        )

    def _select_decoded(self, start: int, stop: int | None) -> tuple[list[Notification], Decoded]:
        page = self._select(start, stop)
        decode = self.decode
        return page, ({} if decode is None else {n.id: decode(n) for n in page})

    def read(self, start: int) -> list[Notification]:
        """The page after ``start``: the one read ahead if it was for ``start`` and found
        something (an empty one may predate the latest commits), else a fresh read."""
        return self.read_decoded(start)[0]

    def read_decoded(self, start: int) -> tuple[list[Notification], Decoded]:
        """As ``read``, with the events decoded ahead (none when the page was read now)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            at, future = ahead
            page, events = future.result()  # also when unused: its errors are not left unseen
            if at == (start, self.stop) and page:
                return page, events
        return self.select(start), {}

    def read_ahead(self, start: int) -> None:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(1, thread_name_prefix="page-reader")
        self._ahead = (
            (start, self.stop),
            self._threads.submit(self._select_decoded, start, self.stop),
        )

    def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None
        if ahead is not None and not ahead[1].cancelled():
            ahead[1].exception()  # consumed, so a failed read-ahead logs nothing at exit
