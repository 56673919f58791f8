"""Queue metrics read from the database at scrape time (any process's /metrics)."""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from infrastructure.worker.metrics import ProviderTasksCollector
from infrastructure.worker.task_feed import ProviderTaskFeed
from projections.runner import ProjectionRunner
from tests.integration.shop import Shop


def test_due_and_per_status_counts_come_from_the_table(
    app: CheckoutApplication, db: Engine, shop: Shop
) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProviderTasksCollector(db))
    assert registry.get_sample_value("checkout_provider_tasks_due") == 0

    for customer in ("a", "b"):
        shop.buy("stripe", customer=customer)
    ProjectionRunner(app, db, ProviderTaskFeed()).catch_up()

    assert registry.get_sample_value("checkout_provider_tasks_due") == 2
    labels = {"kind": "create_order", "status": "pending"}
    assert registry.get_sample_value("checkout_provider_tasks", labels) == 2


def test_a_database_no_worker_has_touched_reports_nothing_due(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE provider_tasks"))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProviderTasksCollector(db))
    assert registry.get_sample_value("checkout_provider_tasks_due") == 0
