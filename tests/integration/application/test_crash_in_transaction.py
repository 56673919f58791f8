"""A writer killed inside its events transaction leaves nothing behind.

The `events.in_transaction` crash point fires after the table lock and the inserts, before
the commit; the process dies by SIGKILL, so only PostgreSQL's own rollback can save the log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from application.application import CheckoutApplication
from application.catalog import CatalogEntry
from application.crash_points import ENVIRONMENT_VARIABLE
from domain import Stock
from entrypoints.bootstrap import Container
from infrastructure.event_recorder import CheckoutRecorder

CHECKOUT_IN_A_CHILD = """
import sys
from application.checkout import CartItem, CheckoutRequest
from entrypoints.bootstrap import Container, Services
from infrastructure.settings import load_settings

container = Container(load_settings(), Services(sys.argv[1], "", ""))
container.checkout(CheckoutRequest("alice", (CartItem("MUG", 2),), "stripe", "key-1"))
print("committed", flush=True)
"""


def test_the_engine_records_through_the_recorder_with_the_crash_point(
    app: CheckoutApplication,
) -> None:
    assert isinstance(app.recorder, CheckoutRecorder)


def test_a_checkout_killed_before_its_commit_leaves_no_event(
    container: Container, database_url: str
) -> None:
    container.catalog.upsert([CatalogEntry("MUG", "Mug", "v1", 900, "EUR", 10)])
    head = container.app.head_position()
    child = subprocess.run(
        [sys.executable, "-c", CHECKOUT_IN_A_CHILD, database_url],
        env={**os.environ, ENVIRONMENT_VARIABLE: "events.in_transaction"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "committed" not in child.stdout
    assert container.app.head_position() == head
    stock = container.app.load(Stock, Stock.id_for("MUG"))
    assert stock.available == 10

    # The same request again, unarmed, goes through: no lock or row was left behind.
    again = subprocess.run(
        [sys.executable, "-c", CHECKOUT_IN_A_CHILD, database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert container.app.load(Stock, Stock.id_for("MUG")).available == 8
