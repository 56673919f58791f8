"""Lag reporting, and waiting for a position (read-your-writes)."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.cli.projections import format_status
from projections import ALL_PROJECTIONS
from projections.orders import OrdersView
from projections.runner import ProjectionRunner, status, wait_for_position
from tests.integration.projections.conftest import StartRunner
from tests.integration.projections.histories import Histories


def test_status_reports_the_lag_until_caught_up(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    histories.place()
    head = app.head_position()

    behind = status(app, db)
    assert [s.name for s in behind] == [p.name for p in ALL_PROJECTIONS]
    assert all(s.position == 0 and s.head == head and s.lag_events == head for s in behind)
    assert all(s.lag_seconds > 0 for s in behind)

    for projection in ALL_PROJECTIONS:
        ProjectionRunner(app, db, projection).catch_up()
    caught_up = status(app, db)
    assert all(s.position == head and s.lag_events == 0 for s in caught_up)
    assert all(s.lag_seconds == 0 for s in caught_up)
    table = format_status(caught_up)
    assert table.splitlines()[0].split() == ["name", "position", "head", "lag", "events", "lag",
                                             "seconds"]  # fmt: skip
    assert f"orders    {head}" in table


def test_wait_for_position_returns_once_the_runner_is_there(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    histories.place()
    head = app.head_position()
    assert not wait_for_position(db, ["orders"], head, timeout=0.05)

    start_runner(OrdersView())
    assert wait_for_position(db, ["orders"], head, timeout=10)
    assert wait_for_position(db, ["orders"], 0, timeout=0)


def test_wait_for_position_times_out(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    histories.place()
    for projection in ALL_PROJECTIONS:
        ProjectionRunner(app, db, projection).catch_up()
    head = app.head_position()

    assert wait_for_position(db, ["orders", "payments"], head, timeout=0.5)
    started = time.monotonic()
    assert not wait_for_position(db, ["orders", "payments"], head + 1, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2
    assert not wait_for_position(db, ["no-such-projection"], 1, timeout=0.01)
