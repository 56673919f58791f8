"""Worker metrics: task outcomes and retries (this process), the task queue (the database).

The queue's gauges are read from the database at scrape time by ProviderTasksCollector,
so any process's /metrics (the API's) shows them, whichever worker is running, or none.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
import sqlalchemy as sa
import structlog
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from infrastructure.worker.tasks import TaskQueue

TASKS_SETTLED = Counter(
    "checkout_provider_tasks_settled_total", "Provider tasks finished", ["kind", "status"]
)
TASK_RETRIES = Counter(
    "checkout_provider_task_retries_total",
    "Provider tasks put back to retry later: transient, not_configured or error",
    ["kind", "reason"],
)
ORDERS_EXPIRED = Counter(
    "checkout_orders_expired_total", "Unpaid orders cancelled by the expiry reaper"
)

log = structlog.get_logger(__name__)


class ProviderTasksCollector(Collector):
    """``checkout_provider_tasks_due`` and ``checkout_provider_tasks{kind,status}``."""

    def __init__(self, db: Engine) -> None:
        self._queue = TaskQueue(db)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "checkout_provider_tasks_due", "Provider calls waiting for an executor now"
            ),
            GaugeMetricFamily(
                "checkout_provider_tasks",
                "Provider calls by kind and status (pending, done, failed)",
                labels=["kind", "status"],
            ),
        )

    def describe(self) -> Iterable[Metric]:
        return self._families()  # without values: registering must not touch the database

    def collect(self) -> Iterable[Metric]:
        try:
            census = self._queue.census()
        except (sa.exc.SQLAlchemyError, psycopg.Error) as exc:
            log.warning("provider task metrics unavailable", error=str(exc))
            return []
        due, tasks = self._families()
        due.add_metric([], census.due)
        for (kind, status), count in sorted(census.counts.items()):
            tasks.add_metric([kind.value, status.value], count)
        return [due, tasks]
