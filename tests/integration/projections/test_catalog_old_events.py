"""The catalog view on a log that began before counts (adr/0021): v2 stock events, whose
release or sale names no quantity, then v3 ones; followed live and rebuilt, the same numbers."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest
from application.orders import OrderLifecycle
from application.ports import SystemClock
from domain import Stock
from projections import CatalogView
from projections.queries import ProductQueries
from projections.rebuild import rebuild
from projections.runner import ProjectionRunner
from projections.schema import product_view
from tests.old_stock_events import as_v2


def counts(db: Engine) -> tuple[int, int, dict[str, int], int]:
    c = product_view.c
    query = sa.select(c.on_hand, c.reserved, c.legacy_reservations).where(c.sku == "MUG")
    with db.connect() as conn:
        row = conn.execute(query).one()
    [mug] = ProductQueries(db).list_active()
    return int(row[0]), int(row[1]), dict(row[2]), int(mug["available"])


def test_old_and_new_stock_events_give_the_same_numbers_live_and_rebuilt(
    app: CheckoutApplication, db: Engine
) -> None:
    Catalog(app).upsert([CatalogEntry("MUG", "Mug", "v1", 1250, "USD", 20)])
    # Before the upgrade: three orders reserved, one sold and one released, all as v2.
    stock = app.load(Stock, Stock.id_for("MUG"))
    sold, dropped, still_open = uuid4(), uuid4(), uuid4()
    stock.reserve(sold, 3)
    stock.reserve(dropped, 2)
    stock.reserve(still_open, 4)
    stock.commit(sold, 3)
    stock.release(dropped, 2, "expired")
    app.recorder.insert_events([as_v2(app.mapper, e) for e in stock.collect_events()])
    runner = ProjectionRunner(app, db, CatalogView())
    runner.catch_up()
    assert counts(db) == (17, 4, {str(still_open): 4}, 13)

    # After it: the open v2 order ends with a v3 release of its 4, a new order is placed.
    app.save(_released(app, still_open, 4))
    checkout = Checkout(app, SystemClock(), timedelta(minutes=30))
    placed = checkout(CheckoutRequest("alice", (CartItem("MUG", 5),), "stripe"))
    runner.catch_up()
    live = counts(db)
    assert live == (17, 5, {}, 12), "only the v2 order was ever remembered"

    rebuild(app, db, CatalogView())
    assert counts(db) == live

    OrderLifecycle(app).cancel(placed.order.id, "changed my mind")
    runner.catch_up()
    assert counts(db) == (17, 0, {}, 17)


def _released(app: CheckoutApplication, order: object, units: int) -> Stock:
    stock = app.load(Stock, Stock.id_for("MUG"))
    stock.release(str(order), units, "cancelled")
    return stock
