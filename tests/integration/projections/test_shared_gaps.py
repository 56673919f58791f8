"""The shared follower reads the next page while it writes the current one; that read is
the same gap-free read (adr/0003): a slow transaction holding a lower notification id is
never skipped, by any view, whatever was read ahead meanwhile."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.queries import OrderQueries, PaymentQueries
from projections.runner import position
from projections.stock_movements import StockMovements
from tests.integration.projections.sharing import StartShared
from tests.integration.relay.test_uncommitted import (
    blocked_on_events_table,
    confirmation_in_open_transaction,
)
from tests.integration.shop import Shop
from tests.waiting import wait_until

NAMES = ("orders", "payments", "stock_movements")


def test_a_slow_transaction_with_a_lower_id_reaches_every_view_with_the_later_one(
    app: CheckoutApplication,
    db: Engine,
    database_url: str,
    shop: Shop,
    start_shared: StartShared,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []  # what each read of the log found
    select = app.recorder.select_notifications

    def counted(*args: Any, **kwargs: Any) -> Any:
        found = select(*args, **kwargs)
        reads.append(len(found))
        return found

    monkeypatch.setattr(app.recorder, "select_notifications", counted)
    slow, fast = shop.place(), shop.place()
    views = [OrdersView(), PaymentsView(), StockMovements()]
    running = start_shared(views, batch_size=2, safety_poll=0.02)
    wait_until(lambda: all(position(db, n) == app.head_position() for n in NAMES))
    with ThreadPoolExecutor(1) as pool:
        with confirmation_in_open_transaction(app, database_url, slow, "pi_slow") as tx:
            # A later confirmation can only take its ids once the slow one has ended.
            later = pool.submit(shop.pay, fast, "pi_fast")
            wait_until(lambda: blocked_on_events_table(database_url), what="a blocked writer")
            seen = len(reads)  # reads while it is open: none may pass the open one
            wait_until(lambda: len(reads) > seen + 5, what="the follower to read meanwhile")
            assert not later.done()
            assert all(position(db, n) < tx.notification_id for n in NAMES)
            tx.commit()
        later.result(timeout=10)
    head = app.head_position()
    wait_until(lambda: all(position(db, n) == head for n in NAMES), what="every view")

    for placed, gateway in ((slow, "pi_slow"), (fast, "pi_fast")):
        order = OrderQueries(db).get(placed.order.id)
        payment = PaymentQueries(db).get(placed.order.id)
        assert order is not None
        assert payment is not None
        assert order.body["status"] == "PAYMENT_CONFIRMED", gateway
        assert payment.body["status"] == "succeeded", gateway
    assert running.errors == []
