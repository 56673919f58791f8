"""Crashes and concurrency: a provider object is created once, whatever happens."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.ports import (
    PaymentGateway,
    ProviderOrder,
    ProviderOrderRequest,
)
from domain import PaymentStatus
from infrastructure.worker.executor import Executor
from infrastructure.worker.task_feed import ProviderTaskFeed
from infrastructure.worker.tasks import TaskQueue, TaskStatus
from projections.runner import ProjectionRunner
from tests.integration.payments.sandbox import ProviderSandbox
from tests.integration.shop import Shop
from tests.integration.worker.conftest import StartWorker
from tests.integration.worker.harness import (
    FAST,
    FAST_EXECUTOR,
    PassThrough,
    ProcessDied,
    provider_calls,
    task_of,
)
from tests.waiting import wait_until


class DiesAfterCreating(PassThrough):
    """Creates the provider object, then "dies" before the answer can be recorded."""

    def __init__(self, inner: PaymentGateway) -> None:
        super().__init__(inner)

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        self.inner.create_order(request)
        raise ProcessDied


class OverlapSpy(PassThrough):
    """Counts calls per payment and notes any payment being created twice at once."""

    def __init__(self, inner: PaymentGateway) -> None:
        super().__init__(inner)
        self.calls: Counter[str] = Counter()
        self.overlaps: list[str] = []
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        key = str(request.payment_id)
        with self._lock:
            self.calls[key] += 1
            if key in self._in_flight:
                self.overlaps.append(key)
            self._in_flight.add(key)
        try:
            return self.inner.create_order(request)
        finally:
            with self._lock:
                self._in_flight.discard(key)


def objects_for(sandbox: ProviderSandbox, provider: str, payment_id: str) -> list[str]:
    if provider == "stripe":
        return [i["id"] for i in sandbox.stripe_intents_for(payment_id)]
    return [o["id"] for o in sandbox.razorpay_orders_for(payment_id)]


def gateway_for(sandbox: ProviderSandbox, provider: str) -> PaymentGateway:
    return sandbox.stripe_gateway() if provider == "stripe" else sandbox.razorpay_gateway()


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_crash_after_the_provider_call_creates_nothing_twice(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    provider: str,
) -> None:
    placed = shop.buy(provider)
    ProjectionRunner(app, db, ProviderTaskFeed()).catch_up()
    real = gateway_for(sandbox, provider)
    short_lease = replace(FAST_EXECUTOR, lease_seconds=1.0)
    doomed = Executor(queue, provider_calls(app, {provider: DiesAfterCreating(real)}), short_lease)

    with pytest.raises(ProcessDied):
        doomed.run_one()

    created = objects_for(sandbox, provider, str(placed.payment.id))
    assert len(created) == 1
    assert shop.payment(placed).status is PaymentStatus.PROCESSING
    survivor = Executor(queue, provider_calls(app, {provider: real}), FAST_EXECUTOR)
    assert not survivor.run_one(), "the task is leased until the dead executor's lease ends"
    wait_until(survivor.run_one, what="the lease to run out and the task to be taken over")

    payment = shop.payment(placed)
    assert payment.status is PaymentStatus.PENDING
    assert objects_for(sandbox, provider, str(placed.payment.id)) == created
    assert payment.gateway_order_id == created[0]
    task = task_of(queue, placed.payment.id, "create_order")
    assert (task.status, task.attempts) == (TaskStatus.DONE, 2)


def test_executors_of_two_workers_never_run_one_task_at_once(
    shop: Shop, sandbox: ProviderSandbox, worker: StartWorker, queue: TaskQueue
) -> None:
    spies = {"stripe": OverlapSpy(sandbox.stripe_gateway())}
    orders = [shop.buy("stripe", quantity=1, customer=f"customer-{n}") for n in range(24)]
    options = replace(FAST, executors=4)

    worker(spies, options=options)
    worker(spies, options=options)  # a second process: its own executors and runner

    wait_until(
        lambda: all(shop.payment(p).status is PaymentStatus.PENDING for p in orders),
        timeout=30,
        what="every payment to become payable",
    )
    spy = spies["stripe"]
    assert spy.overlaps == []
    assert set(spy.calls.values()) == {1}
    assert len(spy.calls) == len(orders)
    for placed in orders:
        assert task_of(queue, placed.payment.id, "create_order").attempts == 1
        assert len(sandbox.stripe_intents_for(str(placed.payment.id))) == 1
