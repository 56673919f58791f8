"""Retention: the worker prunes what the engine no longer needs to keep.

Settled webhook inbox rows go after ``WEBHOOK_RETENTION_DAYS`` and finished provider tasks
after ``TASK_RETENTION_DAYS``. Both tables are working sets, not records: what matters is
in the event log (the provider event ids on the payment's events), and failed rows, which
a person still has to look at, are kept.

Evidence (the raw webhook bodies and provider calls the events name by digest) is a
record: it goes only after ``EVIDENCE_RETENTION_DAYS``, seven years by default, however
soon the inbox forgets the same body (adr/0016).
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
    evidence: timedelta = timedelta(days=2555)
    interval_seconds: float = 3600.0
    batch: int = 1000


class RetentionPruner:
    def __init__(
        self,
        inbox: Prunable,
        queue: Prunable,
        policy: RetentionPolicy,
        evidence: Prunable | None = None,
    ) -> None:
        """``inbox``: the webhook inbox; ``queue``: the provider task queue; ``evidence``:
        the evidence store (infrastructure.evidence)."""
        self.inbox = inbox
        self.queue = queue
        self.policy = policy
        self.evidence = evidence

    def prune_once(self) -> tuple[int, int]:
        """Prune until nothing old is left; returns (inbox rows, tasks) deleted. Evidence
        past its own retention goes too (``prune_evidence``)."""
        rows = tasks = 0
        while (pruned := self.inbox.prune(self.policy.webhooks, self.policy.batch)) > 0:
            rows += pruned
        while (pruned := self.queue.prune(self.policy.tasks, self.policy.batch)) > 0:
            tasks += pruned
        if rows or tasks:
            log.info("retention pruned", webhook_inbox=rows, provider_tasks=tasks)
        self.prune_evidence()
        return rows, tasks

    def prune_evidence(self) -> int:
        """Delete evidence older than its retention; returns how many rows went."""
        if self.evidence is None:
            return 0
        gone = 0
        while (pruned := self.evidence.prune(self.policy.evidence, self.policy.batch)) > 0:
            gone += pruned
        if gone:
            log.info("retention pruned", evidence=gone)
        return gone

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.prune_once()
            except Exception as exc:  # the database is away: the next pass tries again
                log.warning("retention pass failed", error=str(exc))
            stop.wait(self.policy.interval_seconds)
