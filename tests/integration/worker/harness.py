"""Building blocks of the worker tests: a shop, fast worker options, a running worker."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.catalog import Catalog, CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.ports import PaymentGateway
from domain import Order, Payment, Stock
from entrypoints.roles import NamedLoop, run_loops
from infrastructure.worker.assembly import WorkerOptions, worker_loops
from infrastructure.worker.executor import Backoff, ExecutorSettings
from infrastructure.worker.tasks import ProviderTask, TaskQueue
from projections.order_view import OrderView
from projections.runner import ProjectionRunner

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
TTL = timedelta(minutes=30)
SKU_BY_PROVIDER = {"stripe": "MUG", "razorpay": "CHAI"}


class SettableClock:
    def __init__(self) -> None:
        self.current = datetime.now(UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class Shop:
    """A catalog with one product per provider's currency, and checkout over it."""

    def __init__(self, app: CheckoutApplication, clock: SettableClock) -> None:
        self.app = app
        self.checkout = Checkout(app, clock, TTL)
        Catalog(app).upsert(
            [
                CatalogEntry("MUG", "Mug", "vendor-a", 1250, "USD", 1000),
                CatalogEntry("CHAI", "Chai", "vendor-b", 19900, "INR", 1000),
            ]
        )

    def buy(self, provider: str, quantity: int = 2, customer: str = "alice") -> Placed:
        item = CartItem(SKU_BY_PROVIDER[provider], quantity)
        return self.checkout(CheckoutRequest(customer, (item,), provider))

    def payment(self, placed: Placed) -> Payment:
        return self.app.load(Payment, placed.payment.id)

    def order(self, placed: Placed) -> Order:
        return self.app.load(Order, placed.order.id)

    def available(self, provider: str) -> int:
        return self.app.load(Stock, Stock.id_for(SKU_BY_PROVIDER[provider])).available


@dataclass
class RunningWorker:
    """One worker process's loops, on a thread, as `checkout-engine worker` runs them."""

    loops: list[NamedLoop]
    stop_event: threading.Event = field(default_factory=threading.Event)
    exit_codes: list[int] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> RunningWorker:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        self.exit_codes.append(run_loops(self.loops, self.stop_event))

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def stop(self) -> None:
        self.stop_event.set()
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "worker did not stop"
        assert self.exit_codes == [0], "a worker loop crashed"


def start_worker(
    app: CheckoutApplication,
    db: Engine,
    gateways: Mapping[str, PaymentGateway],
    clock: SettableClock,
    options: WorkerOptions = FAST,
    with_order_view: bool = False,
) -> RunningWorker:
    loops = worker_loops(app, db, gateways, clock, options)
    if with_order_view:  # the projector's job in production; the reaper reads this view
        runner = ProjectionRunner(app, db, OrderView(), safety_poll=0.5)
        loops.append(NamedLoop("projection:orders", runner.run_forever))
    return RunningWorker(loops).start()


def find_task(queue: TaskQueue, payment_id: UUID, kind: str) -> ProviderTask | None:
    found = [t for t in queue.for_payment(payment_id) if t.kind == kind]
    assert len(found) <= 1, found
    return found[0] if found else None


def task_of(queue: TaskQueue, payment_id: UUID, kind: str) -> ProviderTask:
    task = find_task(queue, payment_id, kind)
    assert task is not None, f"no {kind} task for payment {payment_id}"
    return task
