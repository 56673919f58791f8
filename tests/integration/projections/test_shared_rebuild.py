"""A rebuild of one view while the shared follower runs every view: the page the swap
overtook is rolled back for all of them and redone, each view's effects applied once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.queries import OrderQueries, PaymentQueries
from projections.runner import position, rebuild
from projections.stock_movements import StockMovements
from tests.integration.projections.histories import Histories
from tests.integration.projections.sharing import StartShared
from tests.integration.projections.test_exactly_once import make_history
from tests.integration.projections.test_rebuild import GatedOrdersView, contents
from tests.waiting import wait_until


def test_a_rebuild_of_one_view_rolls_back_the_shared_page_it_overtook_and_all_go_on(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    placed = make_history(histories, orders=5)
    gated = GatedOrdersView()
    # The gate is first: the page is held before any view wrote, the rebuild swaps the
    # payments table under it, and payments then folds the page into the rebuilt rows.
    running = start_shared([gated, PaymentsView(), StockMovements()])
    names = ("orders", "payments", "stock_movements")
    wait_until(lambda: all(position(db, n) == app.head_position() for n in names))
    before = position(db, "payments")

    gated.armed = True
    held, held_payment = histories.paid_order(customer_id="held")
    wait_until(gated.waiting.is_set, what="the shared follower to hold its page")
    rebuild(app, db, PaymentsView(), batch_size=7)
    assert position(db, "payments") == app.head_position() > before
    assert position(db, "orders") == before  # the held page has not committed
    assert PaymentQueries(db).get(held.id) is not None  # the rebuild caught up with it

    gated.gate.set()  # payments' compare-and-set fails: the page is redone for all
    wait_until(lambda: running.shared.retries >= 1, what="the page to be rolled back")
    wait_until(lambda: all(position(db, n) == app.head_position() for n in names))
    later, _ = histories.place(customer_id="later")
    wait_until(lambda: OrderQueries(db).get(later.id), what="the views to go on")
    wait_until(lambda: PaymentQueries(db).get(later.id), what="the rebuilt view to go on")

    histories.refund(held, held_payment, 1000)
    wait_until(lambda: all(position(db, n) == app.head_position() for n in names))
    for order, _payment in [*placed, (held, held_payment)]:
        record, payment = OrderQueries(db).get(order.id), PaymentQueries(db).get(order.id)
        assert record is not None
        assert payment is not None
        assert record.body["status"] == "PARTIALLY_REFUNDED"  # refunded once, not twice
        assert payment.body["refundedAmount"] == 1000
    with db.connect() as conn:
        for table in ("order_view", "payment_status_view"):
            rows = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert rows == len(placed) + 2, table
    assert running.errors == []


def test_a_rebuild_while_the_shared_follower_runs_reproduces_the_view(
    histories: Histories, app: CheckoutApplication, db: Engine, start_shared: StartShared
) -> None:
    make_history(histories, orders=4)
    running = start_shared([OrdersView(), PaymentsView()])
    wait_until(lambda: position(db, "payments") == app.head_position())
    before = contents(db, PaymentsView())

    result = rebuild(app, db, PaymentsView(), batch_size=5)

    assert result.events == app.head_position()
    assert contents(db, PaymentsView()) == before
    placed, _ = histories.place(customer_id="after")
    wait_until(lambda: PaymentQueries(db).get(placed.id), what="the rebuilt view to go on")
    with db.connect() as conn:
        rows = conn.execute(sa.text("SELECT count(*) FROM payment_status_view")).scalar_one()
    assert rows == 5
    assert running.errors == []
