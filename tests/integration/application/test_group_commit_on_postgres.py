"""The checkout writer on real PostgreSQL (adr/0019): its one-query reads, two writers in
two "processes" racing on the same skus, and a kill in the middle of a batch's save."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from uuid import UUID

import psycopg
import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from application.catalog import CatalogEntry
from application.checkout import CartItem, CheckoutRequest, Placed
from application.crash_points import ENVIRONMENT_VARIABLE
from domain import InsufficientStock, Order, Payment, Product, Stock
from entrypoints.bootstrap import Container, Services
from infrastructure import event_tail
from infrastructure.database import DatabaseAddress
from infrastructure.event_tail import WRITERS_TURN_KEY, PostgresEventTail
from infrastructure.settings import Settings
from tests.waiting import wait_until

HOT = ["HOT-1", "HOT-2", "HOT-3", "HOT-4", "HOT-5"]


@pytest.fixture
def rival(settings: Settings, services: Services, container: Container) -> Iterator[Container]:
    """A second API process: its own application, pool and writer on the same database."""
    other = Container(settings, services, clock=container.clock, pool_size=4)
    yield other
    other.close()


def test_the_tail_reads_what_was_appended_after_each_version(
    container: Container, database_url: str
) -> None:
    container.catalog.upsert([CatalogEntry("TAIL", "Tail", "v1", 100, "EUR", 5)])
    app = container.app
    tail = PostgresEventTail(app.recorder, database_url)  # type: ignore[arg-type]
    stock_id, product_id = Stock.id_for("TAIL"), Product.id_for("TAIL")
    stock = app.load(Stock, stock_id)
    stock.restock(3, actor="admin:ops")
    stock.restock(4, actor="admin:ops")
    app.save(stock)
    missing = uuid.uuid4()
    found = tail.since({stock_id: 1, product_id: 1, missing: 0})
    assert set(found) == {stock_id}
    assert [e.originator_version for e in found[stock_id]] == [2, 3]
    firsts = tail.first_events([stock_id, missing])
    assert set(firsts) == {stock_id}
    assert firsts[stock_id].originator_version == 1


def test_two_writers_and_a_canceller_on_the_same_hot_skus_never_oversell(
    container: Container, rival: Container
) -> None:
    """Like two API processes and a worker: each writer holds its own cached stocks and
    learns of the other's reservations by its refresh; a third party releases units while
    they write, so the writers' saves conflict with it and decide again."""
    container.catalog.upsert([CatalogEntry(s, s, "v1", 500, "EUR", 40) for s in HOT])
    cancelled: list[UUID] = []
    errors: list[BaseException] = []
    to_cancel: queue.SimpleQueue[UUID | None] = queue.SimpleQueue()

    def canceller() -> None:
        while (order_id := to_cancel.get()) is not None:
            try:
                container.orders.cancel(order_id, "customer_cancelled", actor="customer:test")
            except Exception as exc:
                errors.append(exc)
            else:
                cancelled.append(order_id)

    called_back: list[bool] = []
    placed_so_far: list[UUID] = []

    def on_placed(future: Future[Placed]) -> None:
        called_back.append(True)
        result = future.exception() or future.result()
        if isinstance(result, Placed) and not result.replayed:
            placed_so_far.append(result.order.id)
            if len(placed_so_far) % 3 == 0:  # a third of the orders, while others are placed
                to_cancel.put(result.order.id)

    thread = threading.Thread(target=canceller)
    thread.start()
    futures: list[Future[Placed]] = []
    for n in range(1000):
        writer = (container if n % 2 else rival).checkout_writer
        cart = (CartItem(HOT[n % 5], 1), CartItem(HOT[(n * 3 + 1) % 5], 1))
        key = f"key-{n % 900}"  # 100 checkouts repeat an earlier one's key, across writers
        customer = f"buyer-{n % 900}"
        future = writer.submit(CheckoutRequest(customer, cart, "stripe", key))
        future.add_done_callback(on_placed)
        futures.append(future)
    outcomes = [f.exception() or f.result() for f in futures]
    # A future's callbacks run after its waiters wake: the last cancellations may still be
    # on their way to the queue.
    wait_until(lambda: len(called_back) == len(futures), timeout=10)
    to_cancel.put(None)
    thread.join()

    placed = [o for o in outcomes if isinstance(o, Placed)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(placed) + len(refused) == len(outcomes), {type(o) for o in outcomes}
    new = {o.order.id: o.order for o in placed if not o.replayed}
    assert len(new) == len({o.order.id for o in placed})  # one order per key
    assert errors == []
    assert cancelled
    held = dict.fromkeys(HOT, 0)
    for order_id, order in new.items():
        if order_id not in cancelled:
            for line in order.lines:
                held[line.sku] += line.quantity
    app = container.app
    for sku in HOT:
        stock = app.load(Stock, Stock.id_for(sku))
        assert stock.on_hand == 40
        assert stock.reserved == held[sku] <= 40  # no oversell, no orphan reservation


CHILD = """
import json, sys
from application.checkout import CartItem, CheckoutRequest
from entrypoints.bootstrap import Container, Services
from infrastructure.settings import load_settings

container = Container(load_settings(), Services(sys.argv[1], "", ""))
writer = container.checkout_writer
futures = [
    writer.submit(CheckoutRequest(f"buyer-{n}", (CartItem("KILL", 1),), "stripe", f"key-{n}"))
    for n in range(int(sys.argv[2]))
]
placed = [f.result() for f in futures]
print(json.dumps([[str(p.order.id), p.replayed] for p in placed]), flush=True)
"""


def run_child(database_url: str, buyers: int, armed: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop(ENVIRONMENT_VARIABLE, None)
    if armed:
        env[ENVIRONMENT_VARIABLE] = "events.in_transaction"
    return subprocess.run(
        [sys.executable, "-c", CHILD, database_url, str(buyers)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_writer_killed_mid_save_leaves_none_of_the_batch_and_retries_place_one_order_each(
    container: Container, database_url: str
) -> None:
    container.catalog.upsert([CatalogEntry("KILL", "Kill", "v1", 700, "EUR", 100)])
    head = container.app.head_position()
    killed = run_child(database_url, 20, armed=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert container.app.head_position() == head
    assert container.app.load(Stock, Stock.id_for("KILL")).available == 100

    first = run_child(database_url, 20, armed=False)
    assert first.returncode == 0, first.stderr
    again = run_child(database_url, 20, armed=False)
    assert again.returncode == 0, again.stderr
    placed, replayed = json.loads(first.stdout), json.loads(again.stdout)
    assert [o for o, _ in placed] == [o for o, _ in replayed]
    assert not any(r for _, r in placed)
    assert all(r for _, r in replayed)
    assert container.app.load(Stock, Stock.id_for("KILL")).available == 80
    for order_id, _ in placed:
        order = container.app.load(Order, uuid.UUID(order_id))
        assert container.app.load(Payment, order.payment_id).order_id == order.id


def test_a_writer_whose_turn_is_held_by_a_stuck_process_goes_on_without_it(
    container: Container, database_url: str
) -> None:
    """The turn spares conflicts; it must never stop checkouts. A session holding it (a
    writer stopped mid-batch) delays the next batch by TURN_WAIT_S, then it goes on alone."""
    container.catalog.upsert([CatalogEntry("TURN", "Turn", "v1", 100, "EUR", 5)])
    with psycopg.connect(database_url, autocommit=True) as stuck:
        stuck.execute("SELECT pg_advisory_lock(%s)", (WRITERS_TURN_KEY,))
        placed = container.checkout_writer.place(
            CheckoutRequest("alice", (CartItem("TURN", 1),), "stripe")
        )
    assert container.app.load(Stock, Stock.id_for("TURN")).reserved == 1
    assert placed.order.customer_id == "alice"


def test_writers_see_each_other_only_while_both_live(
    container: Container, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that conflicted takes turns only if another writer is about: each holds a
    presence lock on its own session from its announcement until it closes. (A key of the
    test's own: the other tests' writers may still be about.)"""
    monkeypatch.setattr(event_tail, "WRITERS_PRESENT_KEY", 0x7465_7374_0000_0000 + os.getpid())
    recorder = container.app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    conninfo = DatabaseAddress.parse(database_url).conninfo
    one, other = PostgresEventTail(recorder, conninfo), PostgresEventTail(recorder, conninfo)
    try:
        one.announce()
        assert not one.others_writing()  # a non-writer's conflict: no turns
        other.announce()
        assert one.others_writing()
        assert other.others_writing()
        other.close()
        # The server ends the closed session, and drops its locks, a moment after the close.
        wait_until(lambda: not one.others_writing(), what="the closed writer's lock to go")
    finally:
        one.close()
        other.close()
