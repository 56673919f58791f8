"""`projections status` and `projections rebuild NAME` against a real database."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from entrypoints.cli.projections import projections, run_rebuild, show_status
from projections.orders import OrdersView
from projections.queries import OrderQueries
from tests.integration.projections.histories import Histories


def test_status_prints_one_line_per_projection(histories: Histories, database_url: str) -> None:
    histories.place()
    result = CliRunner().invoke(projections, ["status"], obj={"database_url": database_url})

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["name", "position", "head", "lag", "events", "lag", "seconds"]
    assert [row.split()[0] for row in rows] == ["orders", "payments", "catalog", "reviews"]
    assert all(row.split()[1] == "0" for row in rows)


def test_rebuild_shows_progress_and_its_rate(
    histories: Histories, app: CheckoutApplication, db: Engine, database_url: str
) -> None:
    order, _ = histories.place()
    result = CliRunner().invoke(
        projections, ["rebuild", "orders"], obj={"database_url": database_url}
    )

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("rebuilding orders: ")
    assert "100%" in lines[-2]
    assert lines[-1].startswith(f"rebuilt orders: {app.head_position()} events in ")
    # The order's and its payment's events are the view's; the catalog's are not read.
    view = OrdersView()
    own = sum(1 for n in app.recorder.select_notifications(1, 100) if view.wants(n.topic))
    assert 0 < own < app.head_position()
    assert lines[-1].endswith(f"events/s), {own} of them of its topics")
    assert OrderQueries(db).get(order.id) is not None


def test_bad_arguments_exit_2(database_url: str) -> None:
    result = CliRunner().invoke(
        projections, ["rebuild", "carts"], obj={"database_url": database_url}
    )
    assert result.exit_code == 2


def test_the_functions_take_the_url(histories: Histories, database_url: str) -> None:
    histories.place()
    assert run_rebuild(database_url, "payments").events > 0
    assert [row.lag_events for row in show_status(database_url)][1] == 0
