"""Executors: claim due provider tasks, make the calls, record the outcomes, settle the tasks.

An executor claims up to ``batch_size`` due create tasks (one per checkout) in one statement
and opens them through ``OrderOpenings`` as one batch: their provider calls at once (on the
executor's pool of ``call_concurrency`` threads), their evidence in one write, their
outcomes in one save, and the done ones settled in one statement, each fenced by its own
claim (adr/0023). The rarer kinds (cancel, refund, close) are claimed and run one at a time.

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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from application.backoff import Backoff
from application.order_openings import Opening, OrderOpenings
from application.ports import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from application.provider_calls import ProviderCalls
from infrastructure.worker.doorbell import Doorbell
from infrastructure.worker.metrics import TASK_RETRIES, TASKS_SETTLED
from infrastructure.worker.tasks import CREATES, OTHERS, ProviderTask, TaskKind, TaskQueue

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ExecutorSettings:
    lease_seconds: float = 60.0  # must outlast a provider call's HTTP timeout
    idle_poll_seconds: float = 1.0
    backoff: Backoff = field(default_factory=Backoff)
    not_configured_retry_seconds: float = 60.0
    batch_size: int = 32  # tasks claimed at once (WORKER_BATCH_SIZE)
    call_concurrency: int = 16  # of one batch's provider calls in flight at once
    gather_seconds: float = 0.05  # after a wake-up or a batch not full (WORKER_GATHER_MS)


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
        self.openings = OrderOpenings(calls)
        self._pool: ThreadPoolExecutor | None = None

    def run_forever(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                seen = self.doorbell.generation
                try:
                    more = self._run()
                except Exception as exc:  # the database is away: try again shortly
                    log.warning("provider task executor failed", error=str(exc))
                    stop.wait(self.settings.idle_poll_seconds)
                    continue
                if more:
                    continue  # a full batch, or a task of another kind: more may be due
                if self.doorbell.generation == seen:
                    self.doorbell.wait(seen, self.settings.idle_poll_seconds)
                # Tasks come in a stream (one feed page per few checkouts): gather for a
                # moment, so that a batch carries several pages' tasks rather than one
                # claim, load, save and settle each.
                stop.wait(self.settings.gather_seconds)
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def run_one(self) -> bool:
        """Claim and execute a batch of due creates, then one task of another kind; False
        when none is due."""
        return self._run() is not None

    def _run(self) -> bool | None:
        """``run_one``; None when nothing was due, else whether more may be due at once (a
        full batch of creates, or a task of another kind, claimed one at a time).

        The other kinds are claimed one at a time, as ever: each makes its calls one after
        another, so a batch of them could outlast its lease (which only has to outlast one
        call's timeout), and they are rare.
        """
        limits: dict[str | None, int] = {CREATES: self.settings.batch_size, OTHERS: 1}
        claimed = self.queue.claim_lanes(self.settings.lease_seconds, limits)  # one statement
        creates = [task for task in claimed if task.kind is TaskKind.CREATE_ORDER]
        full = len(creates) >= self.settings.batch_size
        if full:
            self.doorbell.ring()  # more may be due: another idle executor claims them now
        if creates:
            self._open_orders(creates)
        others = [task for task in claimed if task.kind is not TaskKind.CREATE_ORDER]
        for task in others:
            self.execute(task)
        if not claimed:
            return None
        return bool(others) or full

    def _open_orders(self, tasks: Sequence[ProviderTask]) -> None:
        # A task claimed for the first time was never called for: no look-up needed.
        openings = [Opening(task.payment_id, first_attempt=task.attempts <= 1) for task in tasks]
        try:
            results = self.openings.open(openings, self._run_calls)
        except Exception as exc:  # the database, most likely: every task is retried
            log.exception("provider order batch crashed, will retry", tasks=len(tasks))
            error = f"{type(exc).__name__}: {exc}"
            for task in tasks:
                self._retry(task, "error", error, self.settings.backoff.delay(task.attempts))
            return
        done: list[tuple[ProviderTask, str]] = []
        for task in tasks:
            result = results.get(task.payment_id, RuntimeError("no result for the task"))
            if isinstance(result, str):
                done.append((task, result))
            else:
                self._settle_failure(task, result)
        settled = self.queue.complete_many([task for task, _ in done])
        for task, note in done:
            bound = log.bind(task=task.id, kind=task.kind.value, payment=str(task.payment_id))
            if task.id in settled:
                TASKS_SETTLED.labels(task.kind.value, "done").inc()
                bound.info("provider task done", outcome=note)
            else:
                bound.warning("provider task lease was lost before it was settled")

    def _run_calls(self, thunks: Sequence[Callable[[], Any]]) -> list[Any]:
        if len(thunks) <= 1 or self.settings.call_concurrency <= 1:
            return [thunk() for thunk in thunks]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.settings.call_concurrency, thread_name_prefix="provider-call"
            )
        futures = [self._pool.submit(thunk) for thunk in thunks]
        # result() re-raises what a call raised: a dying process stops the batch here.
        return [future.result() for future in futures]

    def execute(self, task: ProviderTask) -> None:
        bound = log.bind(task=task.id, kind=task.kind.value, payment=str(task.payment_id))
        try:
            note = self._perform(task)
        except Exception as exc:
            self._settle_failure(task, exc)
        else:
            if self.queue.complete(task):
                TASKS_SETTLED.labels(task.kind.value, "done").inc()
                bound.info("provider task done", outcome=note)
            else:
                bound.warning("provider task lease was lost before it was settled")

    def _settle_failure(self, task: ProviderTask, exc: Exception) -> None:
        bound = log.bind(task=task.id, kind=task.kind.value, payment=str(task.payment_id))
        if isinstance(exc, ProviderNotConfigured):
            bound.warning("provider not configured: task waits", provider=exc.provider)
            delay = self.settings.not_configured_retry_seconds
            self._retry(task, "not_configured", exc.reason, delay)
        elif isinstance(exc, TransientProviderError):
            bound.info("provider call failed, will retry", error=exc.reason)
            self._retry(task, "transient", exc.reason, self.settings.backoff.delay(task.attempts))
        elif isinstance(exc, PermanentProviderError):
            bound.warning("provider refused the call", error=exc.reason)
            self.queue.fail(task, exc.reason)
            TASKS_SETTLED.labels(task.kind.value, "failed").inc()
        else:
            bound.error("provider task crashed, will retry", exc_info=exc)
            error = f"{type(exc).__name__}: {exc}"
            self._retry(task, "error", error, self.settings.backoff.delay(task.attempts))

    def _perform(self, task: ProviderTask) -> str:
        if task.kind is TaskKind.CREATE_ORDER:
            return self.calls.open_order(task.payment_id)
        if task.kind is TaskKind.CANCEL:
            return self.calls.cancel_order(task.payment_id)
        if task.kind is TaskKind.CLOSE_OPEN:
            return self.calls.close_open(task.payment_id)
        if task.kind is TaskKind.CAPTURE:
            if task.refund_id is None:
                raise PermanentProviderError(f"capture task {task.id} names no capture")
            return self.calls.capture(task.payment_id, task.refund_id)
        if task.refund_id is None:
            raise PermanentProviderError(f"refund task {task.id} names no refund")
        return self.calls.refund(task.payment_id, task.refund_id)

    def _retry(self, task: ProviderTask, reason: str, error: str, delay: float) -> None:
        TASK_RETRIES.labels(task.kind.value, reason).inc()
        self.queue.retry_later(task, delay, error)
