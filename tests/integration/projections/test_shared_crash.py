"""The shared follower killed mid-page loses the page for every follower, rows and positions
together; a restart resumes from the committed positions, each effect applied exactly once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from domain import Order, Payment, Stock
from projections.catalog import CatalogView
from projections.follower import DomainEvent, Follower
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.runner import SharedFollower, position
from projections.schema import order_stock_movements, order_view, payment_status_view
from projections.stock_movements import StockMovements
from tests.integration.projections.histories import Histories
from tests.integration.projections.sharing import StartShared
from tests.integration.projections.test_exactly_once import assert_views_match, make_history
from tests.waiting import wait_until

NAMES = ("orders", "payments", "catalog", "stock_movements")


class Crash(BaseException):
    """The process dying mid-page (no handler takes a BaseException)."""


class CrashOnPage(Follower):
    """Dies on its n-th page, after the followers before it wrote their rows."""

    name: ClassVar[str] = "crash_on_page"

    def __init__(self, page: int) -> None:
        super().__init__()
        self.page = page
        self.seen = 0

    def followed(self) -> Iterable[type[Any]]:
        return (Order.Created, Payment.Initiated, Stock.Reserved, Payment.RefundCompleted)

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        self.seen += 1
        if self.seen == self.page:
            raise Crash(f"on page {self.page}")


def count(db: Engine, table: sa.Table) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def logged(app: CheckoutApplication, suffixes: tuple[str, ...], upto: int) -> int:
    """How many events of these topics the log holds up to ``upto``."""
    return sum(
        1
        for n in app.recorder.select_notifications(0, 100_000, stop=upto)
        if n.topic.endswith(suffixes)
    )


def test_a_crash_mid_page_loses_the_page_for_every_follower_and_a_restart_applies_it_once(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    placed = make_history(histories, orders=6)
    # The crash comes after orders and payments wrote their rows in the page's transaction.
    crashing = start_shared(
        [OrdersView(), PaymentsView(), CrashOnPage(page=4), CatalogView(), StockMovements()],
        batch_size=7,
        read_ahead=True,
    )
    wait_until(lambda: crashing.finished, what="the shared follower to crash")
    assert [type(error) for error in crashing.errors] == [Crash]

    committed = {name: position(db, name) for name in NAMES}
    assert len(set(committed.values())) == 1, committed  # one transaction moved them all
    at = committed["orders"]
    assert 0 < at < app.head_position()
    # Exactly what the log holds up to the committed position, nothing of the lost page.
    assert count(db, order_view) == logged(app, ("Order.Created",), at)
    assert count(db, payment_status_view) == logged(app, ("Order.Created",), at)
    movements = ("Stock.Reserved", "Stock.Released", "Stock.Committed")
    assert count(db, order_stock_movements) == logged(app, movements, at)

    restarted = start_shared([OrdersView(), PaymentsView(), CatalogView(), StockMovements()])
    head = app.head_position()
    wait_until(lambda: all(position(db, name) == head for name in NAMES), what="the restart")
    restarted.stop()
    assert restarted.errors == []
    assert_views_match(db, placed)  # a refund applied twice would show
    assert count(db, order_stock_movements) == logged(app, movements, head)


def test_catch_up_applies_every_page_to_every_follower_and_resumes_a_partial_one(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    placed = make_history(histories, orders=4)
    # Orders alone first: the shared catch-up then serves followers at different positions.
    SharedFollower(app, db, [OrdersView()], batch_size=3).catch_up()
    assert position(db, "orders") == app.head_position()
    more = make_history(histories, orders=2)

    shared = SharedFollower(app, db, [OrdersView(), PaymentsView()], batch_size=4)
    assert shared.catch_up() == app.head_position()
    assert position(db, "payments") == position(db, "orders") == app.head_position()
    assert_views_match(db, placed + more)
