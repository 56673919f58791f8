"""The read side's position reader: the head and the views in one query, async waits."""

from __future__ import annotations

import time
from collections.abc import Collection

import anyio
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections import ALL_PROJECTIONS
from projections.orders import OrdersView
from projections.runner import ProjectionRunner
from projections.tracking import LogPositions, PositionReader, intervals
from tests.integration.projections.conftest import StartRunner
from tests.integration.projections.histories import Histories


class CountingReader(PositionReader):
    def __init__(self, app: CheckoutApplication, db: Engine) -> None:
        table = PositionReader.of(app, db)
        super().__init__(db, table.events_table, table.schema)
        self.reads = 0

    def read(self, names: Collection[str]) -> LogPositions:
        self.reads += 1
        return super().read(names)


def test_one_read_gives_the_head_and_each_position(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    reader = PositionReader.of(app, db)
    # No tracking row yet: a projection that never ran is simply absent.
    assert reader.read(["orders"]) == LogPositions(app.head_position(), {})
    histories.place()
    head = app.head_position()
    ProjectionRunner(app, db, OrdersView()).catch_up()

    positions = reader.read(["orders", "payments", "no-such-view"])

    assert positions.head == head
    assert positions.views == {"orders": head}
    assert positions.reached(["orders"], head)
    assert not positions.reached(["orders", "payments"], head)


def test_a_wait_ends_when_the_runner_gets_there(
    histories: Histories, app: CheckoutApplication, db: Engine, start_runner: StartRunner
) -> None:
    histories.place()
    head = app.head_position()
    reader = PositionReader.of(app, db)

    async def wait_while_the_runner_starts() -> bool:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(anyio.to_thread.run_sync, lambda: start_runner(OrdersView()))
            return await reader.wait(["orders"], head, timeout=10)
        # Typed as able to swallow an exception, a task group never does: it re-raises.
        raise AssertionError("the task group ended without the wait's answer")

    assert anyio.run(wait_while_the_runner_starts)


def test_a_wait_times_out_after_a_few_growing_looks(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    histories.place()
    for projection in ALL_PROJECTIONS:
        ProjectionRunner(app, db, projection).catch_up()
    head = app.head_position()
    reader = CountingReader(app, db)

    started = time.monotonic()
    reached = anyio.run(reader.wait, ["orders", "payments"], head + 1, 1.0)

    assert not reached
    assert 1.0 <= time.monotonic() - started < 2
    # 5, 10, 20, ... ms, then every 200 ms: about ten looks in a second, not a hundred.
    assert 5 <= reader.reads <= 12


def test_the_pauses_grow_to_a_ceiling() -> None:
    pauses = intervals()
    first = [next(pauses) for _ in range(8)]
    assert first[0] == 0.005
    assert first == sorted(first)
    assert first[-1] == 0.2
