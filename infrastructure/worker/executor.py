"""Executors: claim a due provider task, make the call, record the outcome, settle the task.

Outcomes:
- done: the use case finished (or found nothing left to do);
- transient provider error, or any unexpected error: retried later, with capped
  exponential backoff and jitter, for as long as it takes (a payment must not be lost);
- permanent provider error: the use case has recorded it on the payment (creation or
  refund failed, with the provider's reason); the task is failed;
- provider not configured in this process: parked, retried at a slow pace, logged.

A crash anywhere leaves the task leased; when the lease runs out another executor takes
it and the use case, being idempotent, completes what the first one started.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog

from application.backoff import Backoff
from application.ports import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from infrastructure.worker.doorbell import Doorbell
from infrastructure.worker.metrics import TASK_RETRIES, TASKS_SETTLED
from infrastructure.worker.tasks import ProviderTask, TaskKind, TaskQueue

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ExecutorSettings:
    lease_seconds: float = 60.0  # must outlast a provider call's HTTP timeout
    idle_poll_seconds: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)
    not_configured_retry_seconds: float = 60.0


class Executor:
    def __init__(
        self,
        queue: TaskQueue,
        calls: ProviderCalls,
        settings: ExecutorSettings,
        doorbell: Doorbell | None = None,
    ) -> None:
        self.queue = queue
        self.calls = calls
        self.settings = settings
        self.doorbell = doorbell or Doorbell()

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            seen = self.doorbell.generation
            try:
                worked = self.run_one()
            except Exception as exc:  # the database is away: try again shortly
                log.warning("provider task executor failed", error=str(exc))
                stop.wait(self.settings.idle_poll_seconds)
                continue
            if not worked:
                self.doorbell.wait(seen, self.settings.idle_poll_seconds)

    def run_one(self) -> bool:
        """Claim and execute one due task; False when none is due."""
        task = self.queue.claim(self.settings.lease_seconds)
        if task is None:
            return False
        self.execute(task)
        return True

    def execute(self, task: ProviderTask) -> None:
        bound = log.bind(task=task.id, kind=task.kind.value, payment=str(task.payment_id))
        try:
            note = self._perform(task)
        except ProviderNotConfigured as exc:
            bound.warning("provider not configured: task waits", provider=exc.provider)
            delay = self.settings.not_configured_retry_seconds
            self._retry(task, "not_configured", exc.reason, delay)
        except TransientProviderError as exc:
            bound.info("provider call failed, will retry", error=exc.reason)
            self._retry(task, "transient", exc.reason, self.settings.backoff.delay(task.attempts))
        except PermanentProviderError as exc:
            bound.warning("provider refused the call", error=exc.reason)
            self.queue.fail(task, exc.reason)
            TASKS_SETTLED.labels(task.kind.value, "failed").inc()
        except Exception as exc:
            bound.exception("provider task crashed, will retry")
            error = f"{type(exc).__name__}: {exc}"
            self._retry(task, "error", error, self.settings.backoff.delay(task.attempts))
        else:
            if self.queue.complete(task):
                TASKS_SETTLED.labels(task.kind.value, "done").inc()
                bound.info("provider task done", outcome=note)
            else:
                bound.warning("provider task lease was lost before it was settled")

    def _perform(self, task: ProviderTask) -> str:
        if task.kind is TaskKind.CREATE_ORDER:
            return self.calls.open_order(task.payment_id)
        if task.kind is TaskKind.CANCEL:
            return self.calls.cancel_order(task.payment_id)
        if task.kind is TaskKind.CLOSE_OPEN:
            return self.calls.close_open(task.payment_id)
        if task.refund_id is None:
            raise PermanentProviderError(f"refund task {task.id} names no refund")
        return self.calls.refund(task.payment_id, task.refund_id)

    def _retry(self, task: ProviderTask, reason: str, error: str, delay: float) -> None:
        TASK_RETRIES.labels(task.kind.value, reason).inc()
        self.queue.retry_later(task, delay, error)
