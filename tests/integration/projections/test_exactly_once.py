"""A runner killed mid-batch loses the whole batch, rows and position together; a restart
resumes from the committed position with no effect missed or applied twice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from application.application import CheckoutApplication
from projections.follower import DomainEvent
from projections.orders import OrdersView
from projections.payments import PaymentsView
from projections.queries import OrderQueries, PaymentQueries
from projections.runner import ProjectionRunner, position
from projections.schema import order_view
from tests.integration.projections.conftest import StartRunner
from tests.integration.projections.histories import Histories
from tests.waiting import wait_until


class Crash(BaseException):
    """The process dying mid-batch (a BaseException, like SystemExit: no handler takes it).

    An ordinary exception from a projection is a dead letter instead (test_dead_letters).
    """


class CrashingOrdersView(OrdersView):
    """Crashes after writing its rows, before the runner records the position."""

    def __init__(self, crash_after: int) -> None:
        super().__init__()
        self.crash_after = crash_after
        self.applied = 0

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        super().apply_batch(conn, domain_events)
        self.applied += len(domain_events)
        if self.applied > self.crash_after:
            raise Crash(f"after {self.applied} events")


def make_history(histories: Histories, orders: int) -> list[Any]:
    """Orders in every state, with partial refunds: a refund applied twice would show."""
    placed = []
    for n in range(orders):
        order, payment = histories.paid_order(customer_id=f"customer-{n}")
        histories.refund(order, payment, 1000)
        placed.append((order, payment))
    return placed


def assert_views_match(db: Engine, placed: list[Any]) -> None:
    for order, _payment in placed:
        record = OrderQueries(db).get(order.id)
        payment = PaymentQueries(db).get(order.id)
        assert record is not None
        assert payment is not None
        assert record.body["status"] == "PARTIALLY_REFUNDED"
        assert record.body["payment"]["status"] == "partially_refunded"
        assert payment.body["refundedAmount"] == 1000
    with db.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(order_view)).scalar_one()
    assert count == len(placed)


def test_a_crash_mid_batch_rolls_back_rows_and_position_together(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    placed = make_history(histories, orders=8)
    crashing = start_runner(CrashingOrdersView(crash_after=9), batch_size=5)
    wait_until(lambda: crashing.finished, what="the runner to crash")
    assert [type(error) for error in crashing.errors] == [Crash]

    committed = position(db, "orders")
    assert 0 < committed < app.head_position()
    with db.connect() as conn:
        rows = conn.execute(sa.select(order_view.c.status)).scalars().all()
    # Exactly the orders created up to the committed position, nothing of the lost batch.
    created_before = sum(
        1
        for n in app.recorder.select_notifications(0, 10_000, stop=committed)
        if n.topic.endswith("Order.Created")
    )
    assert len(rows) == created_before

    ProjectionRunner(app, db, OrdersView(), batch_size=5).catch_up()
    ProjectionRunner(app, db, PaymentsView(), batch_size=5).catch_up()
    assert position(db, "orders") == app.head_position()
    assert_views_match(db, placed)


def test_a_stopped_runner_resumes_where_it_stopped(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    placed = make_history(histories, orders=3)
    first = start_runner(PaymentsView(), batch_size=2)
    wait_until(lambda: position(db, "payments") > 0)
    first.stop()
    assert first.errors == []

    more = make_history(histories, orders=3)
    start_runner(PaymentsView(), batch_size=2)
    start_runner(OrdersView())
    wait_until(lambda: position(db, "payments") == app.head_position())
    wait_until(lambda: position(db, "orders") == app.head_position())
    assert_views_match(db, placed + more)
