"""The runner wakes on NOTIFY, and only one instance per projection is active."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections.orders import OrdersView
from projections.queries import OrderQueries
from projections.runner import position
from tests.integration.projections.conftest import StartRunner
from tests.integration.projections.histories import Histories
from tests.waiting import wait_until


def test_a_new_save_is_picked_up_on_notify_not_by_polling(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    # The safety poll is far beyond the deadline: only the NOTIFY can wake the runner.
    running = start_runner(OrdersView(), safety_poll=120)
    wait_until(lambda: position(db, "orders") == app.head_position())

    def place_and_see() -> None:
        order, _payment = histories.place()
        wait_until(lambda: OrderQueries(db).get(order.id), timeout=5, what="the new order")

    for _ in range(3):
        place_and_see()
    assert running.runner.active.is_set()
    assert running.errors == []


def test_only_one_runner_is_active_and_a_standby_takes_over(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    first = start_runner(OrdersView(), standby_retry=0.05)
    second = start_runner(OrdersView(), standby_retry=0.05)
    wait_until(lambda: first.runner.active.is_set() or second.runner.active.is_set())
    active, standby = (first, second) if first.runner.active.is_set() else (second, first)
    order, _ = histories.place()
    wait_until(lambda: OrderQueries(db).get(order.id))
    assert not standby.runner.active.is_set()

    active.stop()
    wait_until(lambda: standby.runner.active.is_set(), what="the standby to take over")
    order, _ = histories.place()
    wait_until(lambda: OrderQueries(db).get(order.id))
    assert position(db, "orders") == app.head_position()
    assert active.errors == standby.errors == []


def lock_holders(db: Engine) -> list[int]:
    query = (
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    with db.connect() as conn:
        return list(conn.execute(sa.text(query)).scalars())


def test_a_runner_whose_session_dies_takes_the_lock_again(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    running = start_runner(OrdersView(), standby_retry=0.05)
    wait_until(running.runner.active.is_set)
    (holder,) = lock_holders(db)
    with db.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})

    # The kill is asynchronous: wait for a new session to hold the lock.
    wait_until(lambda: lock_holders(db) not in ([], [holder]), what="a new lock holder")
    order, _ = histories.place()
    wait_until(lambda: OrderQueries(db).get(order.id), what="the order after reconnecting")
    assert running.runner.active.is_set()
    assert running.errors == []
