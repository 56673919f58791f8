"""Retention: the worker prunes what the engine no longer needs to keep.

Settled webhook inbox rows go after ``WEBHOOK_RETENTION_DAYS`` and finished provider tasks
after ``TASK_RETENTION_DAYS``. Both tables are working sets, not records: what matters is
in the event log (the provider event ids on the payment's events), and failed rows, which
a person still has to look at, are kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import structlog

from infrastructure.leased_queue import Prunable

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetentionPolicy:
    webhooks: timedelta = timedelta(days=90)
    tasks: timedelta = timedelta(days=90)
    interval_seconds: float = 3600.0
    batch: int = 1000


class RetentionPruner:
    def __init__(self, inbox: Prunable, queue: Prunable, policy: RetentionPolicy) -> None:
        """``inbox``: the webhook inbox; ``queue``: the provider task queue."""
        self.inbox = inbox
        self.queue = queue
        self.policy = policy

    def prune_once(self) -> tuple[int, int]:
        """Prune until nothing old is left; returns (inbox rows, tasks) deleted."""
        rows = tasks = 0
        while (pruned := self.inbox.prune(self.policy.webhooks, self.policy.batch)) > 0:
            rows += pruned
        while (pruned := self.queue.prune(self.policy.tasks, self.policy.batch)) > 0:
            tasks += pruned
        if rows or tasks:
            log.info("retention pruned", webhook_inbox=rows, provider_tasks=tasks)
        return rows, tasks

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.prune_once()
            except Exception as exc:  # the database is away: the next pass tries again
                log.warning("retention pass failed", error=str(exc))
            stop.wait(self.policy.interval_seconds)
