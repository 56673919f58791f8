"""Building blocks of the worker tests: fast worker options, a running worker."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from application.application import CheckoutApplication
from application.backoff import Backoff
from application.payments import PaymentOutcomes
from application.ports import (
    PaymentGateway,
    ProviderCaptureRequest,
    ProviderCharge,
    ProviderOrder,
    ProviderOrderRequest,
    ProviderRefund,
    ProviderRefundRequest,
)
from application.provider_calls import ProviderCalls
from application.refunds import Refunds
from entrypoints.bootstrap import Container, WorkerOptions
from entrypoints.roles import run_loops
from infrastructure.worker.executor import ExecutorSettings
from infrastructure.worker.tasks import ProviderTask, TaskQueue
from projections.orders import OrdersView

FAST_EXECUTOR = ExecutorSettings(
    lease_seconds=5.0,
    idle_poll_seconds=0.05,
    backoff=Backoff(initial=0.01, maximum=0.1),
    not_configured_retry_seconds=0.1,
)
FAST = WorkerOptions(
    executors=2,
    executor=FAST_EXECUTOR,
    reaper_interval_seconds=0.05,
)


@dataclass
class RunningWorker:
    """One worker process's loops, on a thread, as `checkout-engine worker` runs them: its
    own container, so its own Application and connection pools."""

    container: Container
    options: WorkerOptions = FAST
    with_order_view: bool = False
    stop_event: threading.Event = field(default_factory=threading.Event)
    exit_codes: list[int] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> RunningWorker:
        loops = self.container.worker_loops(self.options)
        if self.with_order_view:  # the projector's job in production; the reaper reads it
            loops += self.container.projector_loops([OrdersView()], safety_poll=0.5)
        self.thread = threading.Thread(
            target=lambda: self.exit_codes.append(run_loops(loops, self.stop_event)),
            daemon=True,
        )
        self.thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "worker did not stop"
        self.container.close()
        assert self.exit_codes == [0], "a worker loop crashed"


def provider_calls(
    app: CheckoutApplication, gateways: Mapping[str, PaymentGateway]
) -> ProviderCalls:
    """What one executor calls providers with, through ``gateways`` (fakes, spies)."""
    return ProviderCalls(app, gateways, payments=PaymentOutcomes(app), refunds=Refunds(app))


def find_task(queue: TaskQueue, payment_id: UUID, kind: str) -> ProviderTask | None:
    found = [t for t in queue.for_payment(payment_id) if t.kind == kind]
    assert len(found) <= 1, found
    return found[0] if found else None


def task_of(queue: TaskQueue, payment_id: UUID, kind: str) -> ProviderTask:
    task = find_task(queue, payment_id, kind)
    assert task is not None, f"no {kind} task for payment {payment_id}"
    return task


class ProcessDied(BaseException):
    """Stands for the process dying: nothing in the worker catches a BaseException."""


class PassThrough:
    """A gateway around ``inner`` that a test changes only where it overrides a call."""

    def __init__(self, inner: PaymentGateway) -> None:
        self.inner = inner
        self.provider = inner.provider

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        return self.inner.create_order(request)

    def cancel(self, gateway_order_id: str) -> None:
        self.inner.cancel(gateway_order_id)

    def refund(self, request: ProviderRefundRequest) -> ProviderRefund:
        return self.inner.refund(request)

    def charge(self, gateway_payment_id: str) -> ProviderCharge:
        return self.inner.charge(gateway_payment_id)

    def capture(self, request: ProviderCaptureRequest) -> ProviderCharge:
        return self.inner.capture(request)
