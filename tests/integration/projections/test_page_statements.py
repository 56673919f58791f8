"""A page for every view costs one read and one write, whatever the number of views, and
the shared statements keep the guarantees one statement per view gave: all or nothing,
positions compared-and-set, and a refused value stopping only the view it belongs to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from domain import Order
from infrastructure.followers import check_followers
from projections import ALL_PROJECTIONS, runner
from projections.follower import DomainEvent
from projections.orders import OrdersView
from projections.page import Member, PageReader, commit_page
from projections.payments import PaymentsView
from projections.queries import OrderQueries, PaymentQueries
from projections.rebuild import rebuild
from projections.rows import Write
from projections.runner import SharedFollower, position
from projections.schema import order_stock_movements, order_view, payment_status_view
from projections.statements import PlannedFollower, Prepared
from projections.stock_movements import StockMovements
from projections.tracking import PositionMoved, ensure_tracking_row, set_position
from tests.integration.projections.sharing import StartShared
from tests.integration.shop import Shop
from tests.waiting import wait_until


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement sent through a psycopg cursor (SQLAlchemy's and ours), but the
    pool's pre-ping (";", an empty query: no statement to the server)."""
    seen: list[str] = []
    original = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if str(query) != ";":
            seen.append(str(query))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)
    return seen


def members(db: Engine, followers: Sequence[Any]) -> list[Member]:
    with db.begin() as conn:
        for follower in followers:
            ensure_tracking_row(conn, follower.name)
    return [Member(follower) for follower in followers]


def count(db: Engine, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_a_page_for_every_view_is_one_read_and_one_write(
    app: CheckoutApplication, db: Engine, shop: Shop, executed: list[str]
) -> None:
    placed = [shop.buy("stripe", quantity=2, customer=f"customer-{n}") for n in range(3)]
    followers = [*ALL_PROJECTIONS, StockMovements()]
    group = members(db, followers)
    page = PageReader(app.recorder, 500).select(0)
    executed.clear()

    with db.connect() as conn:
        commit_page(conn, app.mapper, page, group)

    assert len(executed) == 2, executed  # BEGIN and COMMIT are psycopg's, not statements
    read, write = executed
    assert read.startswith("SELECT * FROM (SELECT array_agg(")
    assert write.startswith("WITH moved AS (UPDATE projection_tracking")
    for p in placed:
        record = OrderQueries(db).get(p.order.id)
        assert record is not None
        assert record.body["status"] == "PENDING_PAYMENT"
        payment = PaymentQueries(db).get(str(p.order.id))
        assert payment is not None
        assert payment.body["status"] == "processing"
    assert count(db, order_stock_movements) == 3
    for follower in followers:
        assert position(db, follower.name) == page[-1].id


def test_a_position_that_moved_commits_nothing_for_any_view(
    app: CheckoutApplication, db: Engine, shop: Shop
) -> None:
    shop.buy("stripe", quantity=1, customer="customer-1")
    group = members(db, [OrdersView(), PaymentsView()])
    with db.begin() as conn:
        set_position(conn, PaymentsView.name, 1)  # another writer got there first
    page = PageReader(app.recorder, 500).select(0)

    with db.connect() as conn, pytest.raises(PositionMoved):
        commit_page(conn, app.mapper, page, group)

    assert count(db, order_view) == 0, "the orders view's rows went with the page"
    assert position(db, OrdersView.name) == 0
    assert position(db, PaymentsView.name) == 1


class Refusing(PlannedFollower):
    """A planned follower whose write the database refuses for orders of ``refused``."""

    name: ClassVar[str] = "refusing"
    refused: ClassVar[set[str]] = set()

    def followed(self) -> Iterable[type[Any]]:
        return (Order.Created,)

    def prepare(self, domain_events: Sequence[DomainEvent]) -> Prepared:
        bad = [e for e in domain_events if getattr(e, "customer_id", None) in self.refused]
        # A bigint that is no number: 22P02, a DataError, at execution.
        value = "not a number" if bad else "1"
        write = Write(
            "UPDATE projection_tracking SET updated_at = updated_at "
            "WHERE name = 'nobody' AND position = CAST(%b::text AS bigint)",
            [value],
        )
        return Prepared(finish=lambda: [write])


def test_a_value_refused_in_the_shared_write_stops_only_the_view_it_belongs_to(
    app: CheckoutApplication, db: Engine, shop: Shop, start_shared: StartShared
) -> None:
    Refusing.refused = {"customer-bad"}
    running = start_shared([OrdersView(), Refusing(), StockMovements()], stall_poll=0.05)
    good = shop.buy("stripe", quantity=1, customer="customer-good")
    wait_until(lambda: position(db, "refusing") == app.head_position(), what="a good page")
    bad = shop.buy("stripe", quantity=1, customer="customer-bad")

    wait_until(running.shared.stalled.is_set, what="the refusing follower to stop")
    wait_until(lambda: position(db, "orders") == app.head_position(), what="orders go on")
    assert position(db, "stock_movements") == app.head_position()
    assert position(db, "refusing") < app.head_position()
    assert running.shared.member("refusing").stalled_at is not None
    assert OrderQueries(db).get(good.order.id) is not None
    assert OrderQueries(db).get(bad.order.id) is not None
    assert not check_followers(db).ok
    assert running.errors == []


def test_the_task_feed_rings_the_doorbell_only_when_its_page_commits(
    app: CheckoutApplication, db: Engine, shop: Shop, database_url: str
) -> None:
    from infrastructure.worker.task_feed import TASKS_CHANNEL, ProviderTaskFeed

    shop.buy("stripe", quantity=1, customer="customer-1")
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{TASKS_CHANNEL}"')
        feed = SharedFollower(app, db, [ProviderTaskFeed()])
        feed.catch_up()
        rung = list(listener.notifies(timeout=2.0, stop_after=1))
    assert [n.channel for n in rung] == [TASKS_CHANNEL]


def backend(conn: sa.Connection) -> tuple[int, int]:
    """The connection's server process and how many statements it holds prepared."""
    pid, prepared = conn.exec_driver_sql(
        "SELECT pg_backend_pid(), (SELECT count(*) FROM pg_prepared_statements)"
    ).one()
    conn.commit()
    return int(pid), int(prepared)


def test_the_follower_renews_its_page_connection_each_time_the_log_doubles(
    app: CheckoutApplication, db: Engine, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generic plan made while the views were small scans them whole (a prepared
    statement keeps its plan until the next ANALYZE): the follower re-plans as they grow,
    on a new connection."""
    monkeypatch.setattr(runner, "REPLAN_AFTER_EVENTS", 4)
    for n in range(30):
        shop.buy("stripe", quantity=1, customer=f"customer-{n}")
    shared = SharedFollower(app, db, [OrdersView(), PaymentsView()], batch_size=4)
    pages: list[tuple[int, int, int]] = []  # (page's end, backend, statements prepared)
    page_connection = SharedFollower._page_connection

    def recording(self: SharedFollower, at: int) -> sa.Connection:
        connection = page_connection(self, at)
        pages.append((at, *backend(connection)))
        return connection

    monkeypatch.setattr(SharedFollower, "_page_connection", recording)

    assert shared.catch_up() == app.head_position()

    opened: list[tuple[int, int, int]] = []  # the first page on each connection
    for page in pages:
        at, pid, _ = page
        if opened and pid == opened[-1][1]:
            assert at < 2 * opened[-1][0] + 4, f"kept too long: {pages}"
        else:
            assert not opened or at >= 2 * opened[-1][0] + 4, f"renewed too soon: {pages}"
            opened.append(page)
    assert len(opened) >= 4, pages
    assert all(prepared == 0 for _, _, prepared in opened), "a new connection prepares anew"
    assert max(prepared for _, _, prepared in pages) > 0, "the pages' statements were prepared"
    assert count(db, order_view) == 30


def test_a_rebuild_plans_each_page_and_prepares_none(
    app: CheckoutApplication, db: Engine, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its shadow tables start empty: a plan made on the first pages would scan them
    whole on every later one."""
    for n in range(12):
        shop.buy("stripe", quantity=1, customer=f"customer-{n}")
    preparing: list[object] = []
    original = psycopg.Cursor.execute

    def execute(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if str(query).startswith(
            ("SELECT * FROM (SELECT array_agg(", "INSERT INTO payment_status_view__rebuild")
        ):
            preparing.append(kwargs.get("prepare"))
        return original(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", execute)

    result = rebuild(app, db, PaymentsView(), batch_size=3)

    assert result.events == app.head_position()
    assert len(preparing) > 10, preparing  # psycopg would have prepared after five
    assert set(preparing) == {False}
    assert count(db, payment_status_view) == 12
