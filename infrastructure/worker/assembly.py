"""The worker role as loops: the tasks projection, executors, the reaper, the webhook
inbox sweeper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import structlog
from sqlalchemy.engine import Engine

from application.engine import CheckoutEngine
from application.orders import OrderLifecycle
from application.ports import Clock
from application.provider_calls import ProviderCalls
from application.providers import CheckoutSessions, PaymentGateway
from infrastructure.roles import NamedLoop
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
    app: CheckoutEngine,
    engine: Engine,
    gateways: Mapping[str, PaymentGateway],
    clock: Clock,
    options: WorkerOptions | None = None,
    sessions: CheckoutSessions | None = None,
) -> list[NamedLoop]:
    """Every loop of one worker process; creates the task and inbox tables if missing."""
    options = options or WorkerOptions()
    if not gateways:
        log.warning("no payment provider configured: provider tasks will wait for one")
    create_task_table(engine)
    create_inbox_table(engine)
    create_schema(engine)  # the reaper reads order_view, which the projector fills
    inbox = WebhookInbox(engine)
    sweeper = InboxSweeper(
        inbox,
        webhook_applier(app, engine, inbox, options.inbox_retry),
        options.inbox_interval_seconds,
    )
    queue = TaskQueue(engine)
    calls = ProviderCalls(app, gateways, sessions)
    doorbell = Doorbell()
    runner = ProjectionRunner(app, engine, ProviderTasks())
    reaper = ExpiryReaper(
        OrderQueries(engine), OrderLifecycle(app), clock, options.reaper_interval_seconds
    )
    pruner = RetentionPruner(inbox, queue, options.retention)
    loops = [
        NamedLoop("projection:provider_tasks", runner.run_forever),
        NamedLoop("worker:retention", pruner.run_forever),
        NamedLoop("worker:doorbell", partial(listen_for_tasks, engine, doorbell)),
        NamedLoop("worker:reaper", reaper.run_forever),
        NamedLoop("worker:webhook-inbox", sweeper.run_forever),
    ]
    for number in range(1, options.executors + 1):
        executor = Executor(queue, calls, options.executor, doorbell)
        loops.append(NamedLoop(f"worker:executor-{number}", executor.run_forever))
    return loops
