from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from application.ports import PaymentGateway
from entrypoints.bootstrap import Container, Services
from infrastructure.payments.metrics import InstrumentedGateway
from infrastructure.settings import Settings
from infrastructure.worker.tasks import TaskQueue
from tests.integration.payments.sandbox import ProviderSandbox, sandbox, sandbox_server
from tests.integration.shop import SettableClock
from tests.integration.worker.harness import RunningWorker

__all__ = ["sandbox", "sandbox_server"]


@pytest.fixture
def pool_size() -> int:
    return 20  # the test's threads and the workers' share the database server


@pytest.fixture
def queue(container: Container, db: Engine) -> TaskQueue:
    return container.task_queue


@pytest.fixture
def gateways(sandbox: ProviderSandbox) -> dict[str, PaymentGateway]:
    """Both providers, through their real SDKs, against the sandbox, with metrics."""
    return {
        "stripe": InstrumentedGateway(sandbox.stripe_gateway()),
        "razorpay": InstrumentedGateway(sandbox.razorpay_gateway()),
    }


StartWorker = Callable[..., RunningWorker]


@pytest.fixture
def worker(
    settings: Settings, services: Services, clock: SettableClock, db: Engine
) -> Iterator[StartWorker]:
    """Starts workers (each like one `checkout-engine worker` process, built by the
    composition root with the test's gateways and clock); stops them after."""
    started: list[RunningWorker] = []

    def start(gateways: dict[str, PaymentGateway], **options: Any) -> RunningWorker:
        container = Container(settings, services, clock=clock, gateways=gateways, pool_size=5)
        running = RunningWorker(container, **options).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
