"""The checkout writer: a batch is its checkouts run one by one in queue order, committed
together (adr/0019). Compared against ``Checkout``, the one-at-a-time use case."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.errors import IdempotencyConflict
from application.group_commit import CheckoutWriter, RecorderTail, _Queued
from domain import InsufficientStock, Payment, Stock
from entrypoints.bootstrap import build_application
from tests.unit.application.conftest import FrozenClock

TTL = timedelta(minutes=30)
SKUS = ("MUG", "TEE", "CHAI")
ENTRIES = [
    CatalogEntry("MUG", "Mug", "vendor-a", 1250, "USD", 4),
    CatalogEntry("TEE", "T-shirt", "vendor-b", 2000, "USD", 2),
    CatalogEntry("CHAI", "Chai", "vendor-c", 19900, "USD", 3),
]


def shop() -> CheckoutApplication:
    app = build_application()  # in memory
    Catalog(app).upsert(ENTRIES)
    return app


@pytest.fixture
def stocked() -> Iterator[CheckoutApplication]:
    app = shop()
    yield app
    app.close()


def request(
    customer: str, *items: tuple[str, int], key: str | None = None, provider: str = "stripe"
) -> CheckoutRequest:
    return CheckoutRequest(customer, tuple(CartItem(s, q) for s, q in items), provider, key)


def commit_batch(writer: CheckoutWriter, requests: Sequence[CheckoutRequest]) -> list[Any]:
    """Commit ``requests`` as ONE batch (on this thread); each one's Placed or error."""
    queued = [_Queued(r, r.order_id()) for r in requests]
    writer.commit(queued)
    return [q.future.exception() or q.future.result() for q in queued]


def one_by_one(checkout: Checkout, requests: Sequence[CheckoutRequest]) -> list[Any]:
    outcomes: list[Any] = []
    for r in requests:
        try:
            outcomes.append(checkout(r))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def meaning(outcome: Any) -> Any:
    """What a client learns from an outcome, without the random ids of unkeyed orders."""
    if isinstance(outcome, Placed):
        lines = [(line.sku, line.quantity, line.unit_amount) for line in outcome.order.lines]
        return ("placed", outcome.replayed, outcome.order.amount, lines, outcome.payment.status)
    return ("refused", type(outcome).__name__, str(outcome))


def stock_state(app: CheckoutApplication) -> dict[str, tuple[int, int]]:
    stocks = (app.load(Stock, Stock.id_for(sku)) for sku in SKUS)
    return {stock.sku: (stock.on_hand, stock.available) for stock in stocks}


def event_kinds(app: CheckoutApplication) -> list[str]:
    notifications = app.recorder.select_notifications(start=1, limit=10_000)
    return sorted(n.topic for n in notifications)


carts = st.lists(
    st.tuples(st.sampled_from([*SKUS, "NOPE"]), st.integers(min_value=1, max_value=3)),
    min_size=1,
    max_size=3,
)
requests = st.lists(
    st.builds(
        lambda customer, items, key, provider: request(
            customer, *items, key=key, provider=provider
        ),
        st.sampled_from(["ana", "bo"]),
        carts,
        st.sampled_from([None, "k1", "k2"]),
        st.sampled_from(["stripe", "razorpay"]),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_a_batch_has_the_outcome_of_its_checkouts_run_one_by_one(
    batch: list[CheckoutRequest],
) -> None:
    clock = FrozenClock()
    sequential, grouped = shop(), shop()
    try:
        expected = one_by_one(Checkout(sequential, clock, TTL), batch)
        got = commit_batch(CheckoutWriter(grouped, clock, TTL), batch)
        assert [meaning(o) for o in got] == [meaning(o) for o in expected]
        assert stock_state(grouped) == stock_state(sequential)
        assert event_kinds(grouped) == event_kinds(sequential)
    finally:
        sequential.close()
        grouped.close()


def test_a_batch_commits_in_one_transaction(stocked: CheckoutApplication) -> None:
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    head = stocked.head_position()
    got = commit_batch(writer, [request("ana", ("MUG", 1)), request("bo", ("TEE", 1))])
    assert all(isinstance(o, Placed) for o in got)
    # order + payment each, one reservation on each stock: six events of one commit, and
    # every checkout of the batch is answered with the batch's position.
    assert stocked.head_position() == head + 6
    assert {o.position for o in got} == {head + 6}


def test_a_refused_checkout_in_mid_batch_commits_the_others_and_nothing_of_its_own(
    stocked: CheckoutApplication,
) -> None:
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    head = stocked.head_position()
    first, short, last = commit_batch(
        writer,
        [
            request("ana", ("MUG", 1)),
            request("bo", ("TEE", 3), ("MUG", 1)),
            request("cy", ("MUG", 1)),
        ],
    )
    assert isinstance(first, Placed)
    assert isinstance(last, Placed)
    assert isinstance(short, InsufficientStock)
    assert stocked.head_position() == head + 6
    assert stock_state(stocked)["MUG"] == (4, 2)
    assert stock_state(stocked)["TEE"] == (2, 2)


def test_duplicate_keys_in_one_batch_and_across_batches_place_one_order(
    stocked: CheckoutApplication,
) -> None:
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    twice = [request("ana", ("MUG", 1), key="k"), request("ana", ("MUG", 1), key="k")]
    first, second = commit_batch(writer, twice)
    (third,) = commit_batch(writer, twice[:1])
    assert (first.replayed, second.replayed, third.replayed) == (False, True, True)
    assert first.order.id == second.order.id == third.order.id
    assert stock_state(stocked)["MUG"] == (4, 3)
    (changed,) = commit_batch(writer, [request("ana", ("MUG", 2), key="k")])
    assert isinstance(changed, IdempotencyConflict)


def test_a_change_made_outside_the_writer_is_seen_by_its_next_batch(
    stocked: CheckoutApplication,
) -> None:
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    commit_batch(writer, [request("ana", ("TEE", 1))])  # the writer now holds TEE
    elsewhere = stocked.load(Stock, Stock.id_for("TEE"))
    elsewhere.set_available(0, actor="admin:ops")
    stocked.save(elsewhere)
    (refused,) = commit_batch(writer, [request("bo", ("TEE", 1))])
    assert isinstance(refused, InsufficientStock)
    Catalog(stocked).upsert([CatalogEntry("NEW", "New", "vendor-a", 100, "USD", 1)])
    (placed,) = commit_batch(writer, [request("cy", ("NEW", 1))])
    assert isinstance(placed, Placed)


def test_a_conflicting_save_is_decided_again_from_fresh_state(
    stocked: CheckoutApplication,
) -> None:
    """Another writer moves the stock between this batch's refresh and its save: the
    conflict evicts and redoes the batch, which then sees the other writer's units gone."""
    rival = stocked.load(Stock, Stock.id_for("TEE"))
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    commit_batch(writer, [request("ana", ("MUG", 1))])
    real_save = stocked.save
    raced: list[bool] = []

    def save_after_a_rival(*aggregates: Any) -> Any:
        if not raced:
            raced.append(True)
            rival.reserve(uuid.uuid4(), 2, "customer:zed")
            real_save(rival)
        return real_save(*aggregates)

    stocked.save = save_after_a_rival  # type: ignore[method-assign]
    (outcome,) = commit_batch(writer, [request("bo", ("TEE", 1))])
    assert raced
    assert isinstance(outcome, InsufficientStock)
    assert stock_state(stocked)["TEE"] == (2, 0)


def test_the_threaded_writer_answers_every_submitted_checkout(
    stocked: CheckoutApplication,
) -> None:
    batches: list[int] = []
    writer = CheckoutWriter(stocked, FrozenClock(), TTL, on_batch=batches.append)
    futures = [writer.submit(request(f"c{n}", ("MUG", 1))) for n in range(10)]
    writer.close()
    outcomes = [f.exception() or f.result() for f in futures]
    assert sum(isinstance(o, Placed) for o in outcomes) == 4
    assert sum(isinstance(o, InsufficientStock) for o in outcomes) == 6
    assert sum(batches) == 10
    payments = [o.payment for o in outcomes if isinstance(o, Placed)]
    assert all(isinstance(p, Payment) for p in payments)
    with pytest.raises(RuntimeError):
        writer.submit(request("late", ("MUG", 1)))


def test_a_snapshot_that_fails_after_the_commit_does_not_fail_or_redo_the_batch(
    stocked: CheckoutApplication,
) -> None:
    """Snapshots are taken after the commit; a failure there must not look like a failed
    save (the batch would be decided again and its orders recorded twice)."""
    Catalog(stocked).upsert([CatalogEntry("BULK", "Bulk", "vendor-a", 100, "USD", 100)])

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("snapshot store away")

    assert stocked.snapshots is not None
    stocked.snapshots.put = broken  # type: ignore[method-assign,assignment]
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    head = stocked.head_position()
    got = commit_batch(writer, [request(f"c{n}", ("BULK", 1)) for n in range(60)])
    assert all(isinstance(o, Placed) for o in got)
    assert writer.conflicts == 0
    assert stocked.head_position() == head + 180  # 60 x (order, payment, reservation)
    assert stocked.load(Stock, Stock.id_for("BULK")).available == 40


def test_snapshots_are_taken_from_the_saved_aggregates_at_their_interval(
    stocked: CheckoutApplication,
) -> None:
    """A save whose events reach an aggregate's interval snapshots the state it just saved,
    with no reload from the store, in one insert."""
    Catalog(stocked).upsert([CatalogEntry("BULK", "Bulk", "vendor-a", 100, "USD", 100)])
    stock_id = Stock.id_for("BULK")
    snapshots = stocked.snapshots
    assert snapshots is not None
    puts: list[list[Any]] = []
    reads: list[uuid.UUID] = []
    put, get = snapshots.put, stocked.repository.get

    def counted_put(events: Any, **kwargs: Any) -> Any:
        puts.append(list(events))
        return put(events, **kwargs)

    def counted_get(aggregate_id: uuid.UUID, **kwargs: Any) -> Any:
        reads.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    snapshots.put = counted_put  # type: ignore[method-assign,assignment]
    stocked.repository.get = counted_get  # type: ignore[method-assign]
    writer = CheckoutWriter(stocked, FrozenClock(), TTL)
    commit_batch(writer, [request("warm", ("BULK", 1))])  # the writer has the stock now
    version = stocked.load(Stock, stock_id).version
    reads.clear()

    got = commit_batch(writer, [request(f"s{n}", ("BULK", 1)) for n in range(60 - version)])

    assert all(isinstance(o, Placed) for o in got)
    # The stock passed its 50th event; the batch's new payments are far from their 20th.
    [[snapshot]] = puts
    assert (snapshot.originator_id, snapshot.originator_version) == (stock_id, 60)
    assert stock_id not in reads
    assert snapshot.state["reserved"] == 60 - 1  # every event after Created is a reservation
    reloaded = stocked.load(Stock, stock_id)
    assert (reloaded.version, reloaded.available) == (60, 100 - 59)


class CountingTail(RecorderTail):
    def __init__(self, app: CheckoutApplication, others: bool = True) -> None:
        super().__init__(app)
        self.turns = 0
        self.others = others  # whether another process's writer is about

    def turn(self) -> AbstractContextManager[None]:
        self.turns += 1
        return super().turn()

    def others_writing(self) -> bool:
        return self.others


@pytest.mark.parametrize("others", [True, False], ids=["a-writer-about", "no-other-writer"])
def test_a_writer_takes_turns_only_once_another_writer_got_in_its_way(
    stocked: CheckoutApplication, others: bool
) -> None:
    """A conflict puts the writer in turn mode only if another writer may have caused it:
    a rival that takes no turns (a webhook's stock commit) is not spared by them."""
    tail = CountingTail(stocked, others)
    writer = CheckoutWriter(stocked, FrozenClock(), TTL, tail)
    commit_batch(writer, [request("ana", ("MUG", 1))])
    assert tail.turns == 0  # alone: no turn, no statements for it
    rival = stocked.load(Stock, Stock.id_for("MUG"))
    rival.reserve(uuid.uuid4(), 1, "customer:zed")
    real_save = stocked.save
    raced: list[bool] = []

    def save_after_a_rival(*aggregates: Any) -> Any:
        if not raced:
            raced.append(True)
            real_save(rival)
        return real_save(*aggregates)

    stocked.save = save_after_a_rival  # type: ignore[method-assign]
    (placed,) = commit_batch(writer, [request("bo", ("MUG", 1))])
    assert isinstance(placed, Placed)
    assert writer.conflicts == 1
    assert tail.turns == (1 if others else 0)  # the redo took its turn, if any could help
    commit_batch(writer, [request("cy", ("MUG", 1))])
    assert tail.turns == (2 if others else 0)  # and so does every batch for a while after
    assert stock_state(stocked)["MUG"] == (4, 0)
