from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.ports import PaymentGateway
from infrastructure.database import DatabaseAddress
from infrastructure.payments.metrics import InstrumentedGateway
from infrastructure.worker.tasks import TaskQueue, create_task_table
from projections.schema import create_schema
from tests.integration.payments.sandbox import ProviderSandbox, sandbox, sandbox_server
from tests.integration.worker.harness import RunningWorker, SettableClock, Shop, start_worker

__all__ = ["sandbox", "sandbox_server"]


@pytest.fixture
def app(database_url: str) -> Iterator[CheckoutApplication]:
    application = CheckoutApplication(env=DatabaseAddress.parse(database_url).eventsourcing_env(20))
    yield application
    application.close()


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    db = DatabaseAddress.parse(database_url).sqlalchemy_engine(pool_size=10)
    create_schema(db)
    create_task_table(db)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def shop(app: CheckoutApplication, clock: SettableClock) -> Shop:
    return Shop(app, clock)


@pytest.fixture
def queue(db: Engine) -> TaskQueue:
    return TaskQueue(db)


@pytest.fixture
def gateways(sandbox: ProviderSandbox) -> dict[str, PaymentGateway]:
    """Both providers, through their real SDKs, against the sandbox, with metrics."""
    return {
        "stripe": InstrumentedGateway(sandbox.stripe_gateway()),
        "razorpay": InstrumentedGateway(sandbox.razorpay_gateway()),
    }


StartWorker = Callable[..., RunningWorker]


@pytest.fixture
def worker(app: CheckoutApplication, db: Engine, clock: SettableClock) -> Iterator[StartWorker]:
    """Starts workers (each like one `checkout-engine worker` process); stops them after."""
    started: list[RunningWorker] = []

    def start(gateways: dict[str, PaymentGateway], **options: Any) -> RunningWorker:
        running = start_worker(app, db, gateways, clock, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
