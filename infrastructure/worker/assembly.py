"""The worker role as loops: the tasks projection, executors, the reaper, the webhook
inbox sweeper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import structlog
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.orders import OrderLifecycle
from application.ports import CheckoutSessions, Clock, PaymentGateway
from application.provider_calls import ProviderCalls
from entrypoints.roles import NamedLoop
from infrastructure.webhooks.applier import RetryPolicy, webhook_applier
from infrastructure.webhooks.inbox import WebhookInbox, create_inbox_table
from infrastructure.webhooks.sweeper import InboxSweeper
from infrastructure.worker.doorbell import Doorbell, listen_for_tasks
from infrastructure.worker.executor import Executor, ExecutorSettings
from infrastructure.worker.reaper import ExpiryReaper
from infrastructure.worker.retention import RetentionPolicy, RetentionPruner
from infrastructure.worker.task_projection import ProviderTasks
from infrastructure.worker.tasks import TaskQueue, create_task_table
from projections.queries import OrderQueries
from projections.runner import ProjectionRunner
from projections.schema import create_schema

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class WorkerOptions:
    executors: int = 4
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    reaper_interval_seconds: float = 5.0
    inbox_interval_seconds: float = 1.0
    inbox_retry: RetryPolicy = field(default_factory=RetryPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


def worker_loops(
    app: CheckoutApplication,
    db: Engine,
    gateways: Mapping[str, PaymentGateway],
    clock: Clock,
    options: WorkerOptions | None = None,
    sessions: CheckoutSessions | None = None,
) -> list[NamedLoop]:
    """Every loop of one worker process; creates the task and inbox tables if missing."""
    options = options or WorkerOptions()
    if not gateways:
        log.warning("no payment provider configured: provider tasks will wait for one")
    create_task_table(db)
    create_inbox_table(db)
    create_schema(db)  # the reaper reads order_view, which the projector fills
    inbox = WebhookInbox(db)
    sweeper = InboxSweeper(
        inbox,
        webhook_applier(app, db, inbox, options.inbox_retry),
        options.inbox_interval_seconds,
    )
    queue = TaskQueue(db)
    calls = ProviderCalls(app, gateways, sessions)
    doorbell = Doorbell()
    runner = ProjectionRunner(app, db, ProviderTasks())
    reaper = ExpiryReaper(
        OrderQueries(db), OrderLifecycle(app), clock, options.reaper_interval_seconds
    )
    pruner = RetentionPruner(inbox, queue, options.retention)
    loops = [
        NamedLoop("projection:provider_tasks", runner.run_forever),
        NamedLoop("worker:retention", pruner.run_forever),
        NamedLoop("worker:doorbell", partial(listen_for_tasks, db, doorbell)),
        NamedLoop("worker:reaper", reaper.run_forever),
        NamedLoop("worker:webhook-inbox", sweeper.run_forever),
    ]
    for number in range(1, options.executors + 1):
        executor = Executor(queue, calls, options.executor, doorbell)
        loops.append(NamedLoop(f"worker:executor-{number}", executor.run_forever))
    return loops
