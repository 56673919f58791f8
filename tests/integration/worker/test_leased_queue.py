"""The leased queue itself, on a table of its own: claim, fenced settle, retry, prune, census.

The webhook inbox and the provider task queue are its users; their own tests cover what
they add (accepting deliveries, task kinds). Here the table is a scratch one, so nothing
but the queue's own rules decides what a claim takes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from infrastructure.database import DatabaseAddress
from infrastructure.leased_queue import LeasedQueue, from_now

WAITING = ("new", "failed")
FINISHED = ("done",)

metadata = sa.MetaData()
jobs = sa.Table(
    "leased_queue_jobs",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("topic", sa.Text, nullable=False, server_default="a"),
    sa.Column("status", sa.Text, nullable=False, server_default="new"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("touched_at", sa.DateTime(timezone=True)),
    sa.Column("note", sa.Text),
)


@dataclass(frozen=True)
class Job:
    id: int
    attempts: int


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    db = DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=3)
    metadata.create_all(db)
    yield db
    db.dispose()


@pytest.fixture
def queue(db: Engine) -> LeasedQueue:
    c = jobs.c
    return LeasedQueue(
        db,
        jobs,
        waiting=WAITING,
        finished=FINISHED,
        finished_at=c.finished_at,
        order=[c.next_attempt_at, c.id],
        stamp=c.touched_at,
    )


def add(db: Engine, **values: object) -> int:
    with db.begin() as conn:
        row_id: int = conn.execute(
            sa.insert(jobs).values(**values).returning(jobs.c.id)
        ).scalar_one()
    return row_id


def row(db: Engine, row_id: int) -> sa.RowMapping:
    with db.connect() as conn:
        return conn.execute(sa.select(jobs).where(jobs.c.id == row_id)).mappings().one()


def claimed(queue: LeasedQueue, lease_seconds: float = 30.0) -> Job:
    found = queue.claim(lease_seconds)
    assert found is not None, "nothing was due"
    return Job(found["id"], found["attempts"])


def test_a_claim_takes_the_first_due_row_in_order_and_leases_it(
    db: Engine, queue: LeasedQueue
) -> None:
    later = add(db, next_attempt_at=sa.func.now() - timedelta(seconds=1))
    earliest = add(db, next_attempt_at=sa.func.now() - timedelta(seconds=2))
    add(db, next_attempt_at=from_now(3600))  # not due yet
    add(db, next_attempt_at=None)  # given up
    add(db, status="done")

    first = claimed(queue)
    second = claimed(queue)

    assert (first.id, second.id) == (earliest, later)
    assert first.attempts == 1
    leased = row(db, earliest)
    assert leased["lease_until"] is not None
    assert leased["touched_at"] is not None
    assert queue.claim(30.0) is None, "the rest are leased, not due, or not waiting"


def test_a_claim_skips_a_row_another_transaction_holds_instead_of_waiting(
    db: Engine, queue: LeasedQueue
) -> None:
    held = add(db)
    free = add(db)
    result: list[int] = []
    with db.connect() as other:
        other.execute(sa.select(jobs).where(jobs.c.id == held).with_for_update())
        claimer = threading.Thread(target=lambda: result.append(claimed(queue).id))
        claimer.start()
        claimer.join(timeout=10)
        assert not claimer.is_alive(), "the claim waited for the lock"
        other.rollback()

    assert result == [free]


def test_a_row_comes_back_once_its_lease_runs_out_and_the_late_holder_is_fenced_off(
    db: Engine, queue: LeasedQueue
) -> None:
    add(db)
    first = claimed(queue, lease_seconds=0.0)  # runs out at once: this holder hung
    second = claimed(queue)

    assert second.id == first.id
    assert second.attempts == first.attempts + 1
    assert not queue.settle(first, status="done", note="late")
    assert queue.settle(second, status="done", note="on time")
    settled = row(db, first.id)
    assert (settled["status"], settled["note"]) == ("done", "on time")
    assert settled["lease_until"] is None
    assert not queue.settle(second, status="failed"), "a finished row is settled once"


def test_retry_makes_the_row_due_after_the_delay_or_never(db: Engine, queue: LeasedQueue) -> None:
    row_id = add(db)
    assert queue.retry(claimed(queue), 0.0, status="failed", note="boom")
    again = claimed(queue)
    assert again.attempts == 2
    assert row(db, row_id)["note"] == "boom"

    assert queue.retry(again, 3600.0)
    assert queue.claim(30.0) is None, "due in an hour"
    with db.begin() as conn:
        conn.execute(sa.update(jobs).values(next_attempt_at=sa.func.now()))
    assert queue.retry(claimed(queue), None, status="failed")
    assert row(db, row_id)["next_attempt_at"] is None
    assert queue.claim(30.0) is None, "given up: due only when someone says so"


def test_prune_deletes_old_finished_rows_only_a_batch_at_a_time(
    db: Engine, queue: LeasedQueue
) -> None:
    long_ago = sa.func.now() - timedelta(days=10)
    old = {add(db, status="done", finished_at=long_ago) for _ in range(3)}
    recent = add(db, status="done", finished_at=sa.func.now())
    failed = add(db, status="failed", finished_at=long_ago)
    waiting = add(db)

    assert queue.prune(timedelta(days=1), batch=2) == 2
    assert queue.prune(timedelta(days=1), batch=2) == 1
    assert queue.prune(timedelta(days=1), batch=2) == 0

    with db.connect() as conn:
        kept = set(conn.execute(sa.select(jobs.c.id)).scalars())
    assert kept == {recent, failed, waiting}
    assert not kept & old


def test_the_census_counts_by_label_and_status_and_rows_due(db: Engine, queue: LeasedQueue) -> None:
    add(db, topic="a")
    add(db, topic="a")
    add(db, topic="b", status="failed")
    add(db, topic="b", status="failed", next_attempt_at=from_now(3600))
    add(db, topic="b", status="done")

    census = queue.census(jobs.c.topic)

    assert census.counts == {("a", "new"): 2, ("b", "failed"): 2, ("b", "done"): 1}
    assert census.due == 3


def test_the_census_of_a_database_without_the_table_is_empty(
    db: Engine, queue: LeasedQueue
) -> None:
    metadata.drop_all(db)

    census = queue.census(jobs.c.topic)

    assert (census.due, census.counts) == (0, {})


def test_a_table_without_the_lease_columns_is_refused(db: Engine) -> None:
    plain = sa.Table("plain", sa.MetaData(), sa.Column("id", sa.BigInteger, primary_key=True))
    with pytest.raises(ValueError, match="status, attempts, next_attempt_at, lease_until"):
        LeasedQueue(db, plain, waiting=WAITING, finished=FINISHED, finished_at=plain.c.id, order=[])
