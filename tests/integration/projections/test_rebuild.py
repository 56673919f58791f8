"""Rebuilding from the first event while a runner is live and the API reads the old tables."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import projections.rebuild as rebuild_module
from application.application import CheckoutApplication
from projections.follower import DomainEvent
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.projection import Projection
from projections.queries import OrderQueries, PaymentQueries
from projections.rows import RowStore
from projections.runner import position, rebuild
from projections.statements import Prepared
from projections.stock_movements import EVENTS_TABLE
from tests.integration.projections.conftest import StartRunner
from tests.integration.projections.histories import Histories
from tests.waiting import wait_until


def contents(db: Engine, projection: Projection) -> list[Any]:
    (table,) = projection.tables
    with db.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.select(table).order_by(table.c.order_id))]


def index_names(db: Engine, table: str) -> set[str]:
    with db.connect() as conn:
        query = sa.text("SELECT indexname FROM pg_indexes WHERE tablename = :t")
        return set(conn.execute(query, {"t": table}).scalars())


@contextmanager
def reading_all_along(db: Engine, projection: Projection) -> Iterator[list[bool]]:
    """Reads like the API does, on pooled connections, until the block ends."""
    with db.connect() as conn:
        first = conn.execute(sa.select(projection.table.c.order_id).limit(1)).scalar_one()
    queries = OrderQueries if projection.name == "orders" else PaymentQueries
    answers: list[bool] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            answers.append(queries(db).get(first) is not None)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        wait_until(lambda: len(answers) > 10)  # past psycopg's prepare threshold
        yield answers
    finally:
        done.set()
        reader.join()


def make_history(histories: Histories) -> None:
    for n in range(12):
        order, payment = histories.place(customer_id=f"customer-{n % 3}", provider="razorpay")
        histories.open_provider_order(payment)
        if n % 3 == 0:
            histories.pay(order, payment)
            histories.refund(order, payment, 700)
        elif n % 3 == 1:
            histories.cancel(order)


@pytest.mark.parametrize("projection", [OrdersView(), PaymentsView()], ids=lambda p: p.name)
def test_a_rebuild_under_a_live_runner_reproduces_the_view(
    projection: Projection,
    histories: Histories,
    app: CheckoutApplication,
    db: Engine,
    start_runner: StartRunner,
) -> None:
    make_history(histories)
    running = start_runner(projection)
    wait_until(lambda: position(db, projection.name) == app.head_position())
    before = contents(db, projection)
    indexes = index_names(db, projection.table.name)

    reports: list[tuple[int, int]] = []
    with reading_all_along(db, projection) as answers:
        result = rebuild(app, db, projection, lambda done, total: reports.append((done, total)))
    assert all(answers), "the API kept answering, from the old then the new table"

    assert contents(db, projection) == before
    assert index_names(db, projection.table.name) == indexes
    assert result.events == app.head_position()
    assert result.events_per_s > 0
    assert reports[-1] == (app.head_position(), app.head_position())
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)

    order, _ = histories.place(customer_id="after-rebuild")  # the live runner keeps going
    wait_until(lambda: position(db, projection.name) == app.head_position())
    assert str(order.id) in {str(row[0]) for row in contents(db, projection)}
    assert running.errors == []


class GatedOrdersView(OrdersView):
    """Holds its next batch or page (before touching any table) until the gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.waiting = threading.Event()
        self.gate = threading.Event()

    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        if self.armed:
            self.armed = False
            self.waiting.set()
            self.gate.wait(timeout=30)
        return super().prepare(domain_events)


def test_the_runner_rolls_back_a_batch_the_swap_overtook_and_continues(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    make_history(histories)
    gated = GatedOrdersView()
    running = start_runner(gated)
    wait_until(lambda: position(db, "orders") == app.head_position())
    stale = position(db, "orders")

    gated.armed = True
    held, _ = histories.place(customer_id="held")
    wait_until(gated.waiting.is_set, what="the runner to hold its batch")
    rebuild(app, db, OrdersView(), batch_size=7)
    assert position(db, "orders") == app.head_position() > stale
    assert OrderQueries(db).get(held.id) is not None  # the rebuild caught up with it

    gated.gate.set()  # its transaction now fails the position check and is redone
    wait_until(lambda: running.runner.retries >= 1, what="the batch to be rolled back")
    later, _ = histories.place(customer_id="later")
    wait_until(lambda: OrderQueries(db).get(later.id))
    assert position(db, "orders") == app.head_position()
    with db.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM order_view")).scalar_one()
    assert count == 14
    assert running.errors == []


@pytest.mark.parametrize("batch_size", [2, 3, 500])
def test_a_rebuild_reads_only_its_topics_and_ends_at_the_head(
    batch_size: int, histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    """The log ends with events the view does not follow (the stock's): the rebuild never
    reads them, yet its position, and the live follower's start, is the head."""
    projection = PaymentsView()
    make_history(histories)
    for stock in histories.stock.values():
        stock.restock(5)
    app.save(*histories.stock.values())
    log = list(app.recorder.select_notifications(1, 10_000))
    own = [n for n in log if projection.wants(n.topic)]
    assert log[-1] not in own
    assert 0 < len(own) < len(log)
    read: list[str] = []
    select = app.recorder.select_notifications

    def recording(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        read.extend(n.topic for n in found)
        return found

    app.recorder.select_notifications = recording  # type: ignore[method-assign]

    result = rebuild(app, db, projection, batch_size=batch_size)

    assert sorted(read) == sorted(n.topic for n in own)
    assert result.events == len(log) == app.head_position()
    assert result.applied == len(own)
    assert position(db, projection.name) == app.head_position()
    for order_id in {n.originator_id for n in own if "Order." in n.topic}:
        assert PaymentQueries(db).get(order_id) is not None


@pytest.mark.parametrize(
    ("batch_size", "written_ids"),
    [(3, 1_000_000), (7, 1_000_000), (5, 9)],
    ids=["pages-of-3", "pages-of-7", "forgets-its-ids"],
)
@pytest.mark.parametrize("projection", [OrdersView(), PaymentsView()], ids=lambda p: p.name)
def test_a_rebuild_in_small_pages_looks_only_for_rows_it_wrote_and_reproduces_the_view(
    projection: Projection,
    batch_size: int,
    written_ids: int,
    histories: Histories,
    app: CheckoutApplication,
    db: Engine,
    start_runner: StartRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An order's events span pages: a later page must find the rows an earlier one wrote,
    while the ids of rows nobody wrote yet are not looked for (until, past the bound, every
    id is looked for again)."""
    make_history(histories)
    running = start_runner(projection)
    wait_until(lambda: position(db, projection.name) == app.head_position())
    before = contents(db, projection)
    looked_for: list[int] = []
    loading = RowStore.loading

    def counting(store: RowStore, ids: Any) -> Any:
        load = loading(store, ids)
        looked_for.append(0 if load is None else len(load.ids))
        return load

    monkeypatch.setattr(RowStore, "loading", counting)
    monkeypatch.setattr(rebuild_module, "WRITTEN_IDS_LIMIT", written_ids)

    thresholds = gc.get_threshold()
    during: list[tuple[int, int, int]] = []
    rebuild(app, db, projection, lambda *_: during.append(gc.get_threshold()), batch_size)

    assert contents(db, projection) == before
    assert during
    assert all(t[0] == rebuild_module.REBUILD_GC_THRESHOLD for t in during)
    assert gc.get_threshold() == thresholds, "the process's thresholds are put back"
    assert 0 in looked_for, "a page of new rows only looked for nothing"
    assert any(looked_for), "a page found rows an earlier one wrote"
    assert running.errors == []


def _log_statistics(db: Engine, column: str) -> Any:
    with db.connect() as conn:  # a new snapshot of the statistics each time
        return conn.execute(
            sa.text(f"SELECT {column} FROM pg_stat_user_tables WHERE relid = to_regclass(:t)"),
            {"t": f'"{EVENTS_TABLE}"'},
        ).scalar_one()


def _analyzed_at(db: Engine) -> Any:
    return _log_statistics(db, "last_analyze")


def test_a_rebuild_first_analyzes_a_log_whose_statistics_are_behind_and_only_then(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    """Statistics from before most of the log was written plan every page as a scan of the
    whole remaining log: the rebuild analyzes it first (an autovacuum sets another column,
    last_autoanalyze), and a log analyzed since its last changes is left alone."""
    with db.begin() as conn:
        conn.execute(sa.text(f'ANALYZE "{EVENTS_TABLE}"'))  # an empty log's
    wait_until(lambda: _analyzed_at(db) is not None, what="the statistics to show the ANALYZE")
    before = _analyzed_at(db)
    make_history(histories)
    events = app.head_position()
    # A backend reports its changes to the statistics within seconds, not at each commit.
    wait_until(
        lambda: _log_statistics(db, "n_mod_since_analyze") >= events,
        timeout=30,
        what="the statistics to count the new events",
    )

    rebuild(app, db, PaymentsView())
    wait_until(lambda: _analyzed_at(db) != before, what="the rebuild's ANALYZE")
    analyzed = _analyzed_at(db)

    rebuild(app, db, PaymentsView())
    assert _analyzed_at(db) == analyzed, "nothing changed since: no second ANALYZE"
