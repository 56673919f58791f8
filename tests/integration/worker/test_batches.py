"""The batched executor: one claim, the calls at once, one save, one settle, and each task
still fenced and settled on its own merits. Creates go over the lean clients, as in
production (bootstrap), against the sandbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.checkout import Placed
from application.ports import (
    PaymentGateway,
    ProviderOrder,
    ProviderOrderRequest,
)
from domain import Payment, PaymentStatus
from infrastructure.payments.keepalive import Answer, KeepAliveClient
from infrastructure.payments.lean_http import LeanCreates, pooled_client
from infrastructure.payments.razorpay.orders import RazorpayOrders
from infrastructure.payments.stripe.client import API_VERSION
from infrastructure.payments.stripe.intents import StripeIntents
from infrastructure.worker.executor import Executor
from infrastructure.worker.task_feed import ProviderTaskFeed
from infrastructure.worker.tasks import CREATES, OTHERS, TaskQueue, TaskStatus, provider_tasks
from projections.runner import ProjectionRunner
from tests.integration.payments.sandbox import (
    RAZORPAY_KEY_ID,
    RAZORPAY_KEY_SECRET,
    STRIPE_KEY,
    ProviderSandbox,
)
from tests.integration.shop import Shop
from tests.integration.worker.harness import (
    FAST_EXECUTOR,
    PassThrough,
    ProcessDied,
    provider_calls,
    task_of,
)
from tests.waiting import wait_until

BATCH = replace(FAST_EXECUTOR, batch_size=16, call_concurrency=4)


@dataclass
class Seeing:
    """The pooled client, noting each request's method and URL as it is sent."""

    http: KeepAliveClient
    seen: list[tuple[str, str]]

    def request(self, method: str, url: str, **options: Any) -> Answer:
        self.seen.append((method, url))
        return self.http.request(method, url, **options)


@pytest.fixture
def requests_seen() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def lean(
    sandbox: ProviderSandbox, requests_seen: list[tuple[str, str]]
) -> Iterator[dict[str, PaymentGateway]]:
    """Both providers as the composition root builds them: creates lean, the rest SDK."""
    http = pooled_client(10.0)
    seeing = Seeing(http, requests_seen)
    intents = StripeIntents(seeing, STRIPE_KEY, API_VERSION, sandbox.stripe_base)
    orders = RazorpayOrders(seeing, RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, sandbox.razorpay_base)
    yield {
        "stripe": LeanCreates(sandbox.stripe_gateway(), intents),
        "razorpay": LeanCreates(sandbox.razorpay_gateway(), orders),
    }
    http.close()


def place(shop: Shop, app: CheckoutApplication, db: Engine, *providers: str) -> list[Placed]:
    placed = [shop.buy(p, quantity=1, customer=f"customer-{n}") for n, p in enumerate(providers)]
    ProjectionRunner(app, db, ProviderTaskFeed()).catch_up()
    return placed


def created_positions(app: CheckoutApplication, db: Engine, placed: list[Placed]) -> list[int]:
    """Where each payment's outcome of creation sits in the log."""
    kinds = (Payment.ProviderOrderCreated, Payment.CreationFailed)
    query = sa.text(
        "SELECT notification_id FROM checkout_events"
        " WHERE originator_id = :id AND originator_version = :version"
    )
    positions = []
    with db.connect() as conn:
        for p in placed:
            [event] = [e for e in app.events.get(p.payment.id) if isinstance(e, kinds)]
            values = {"id": p.payment.id, "version": event.originator_version}
            positions.append(int(conn.execute(query, values).scalar_one()))
    return sorted(positions)


def test_one_claim_opens_a_whole_batch_of_both_providers_in_one_save(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    lean: dict[str, PaymentGateway],
    requests_seen: list[tuple[str, str]],
) -> None:
    placed = place(shop, app, db, "stripe", "razorpay", "stripe", "razorpay", "razorpay")
    executor = Executor(queue, provider_calls(app, lean), BATCH)

    assert executor.run_one()
    executor.close()

    for p in placed:
        payment = shop.payment(p)
        assert payment.status is PaymentStatus.PENDING
        task = task_of(queue, p.payment.id, "create_order")
        assert (task.status, task.attempts, task.last_error) == (TaskStatus.DONE, 1, None)
    assert len({shop.payment(p).gateway_order_id for p in placed}) == len(placed)
    positions = created_positions(app, db, placed)
    assert positions == list(range(positions[0], positions[0] + len(placed))), "one save"
    # A first claim cannot have created anything: no Razorpay look-up by receipt.
    assert [method for method, _ in requests_seen] == ["POST"] * len(placed)


def test_a_refusal_and_an_outage_in_one_batch_settle_each_task_its_own_way(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    lean: dict[str, PaymentGateway],
) -> None:
    sandbox.fault("/v1/orders", 400, method="POST")
    sandbox.fault("/v1/payment_intents", 503, method="POST")
    placed = place(shop, app, db, "razorpay", "razorpay", "stripe", "stripe")
    executor = Executor(queue, provider_calls(app, lean), BATCH)

    assert executor.run_one()
    executor.close()

    statuses = sorted(shop.payment(p).status.value for p in placed)
    assert statuses == ["failed", "pending", "pending", "processing"]
    tasks = {p.payment.id: task_of(queue, p.payment.id, "create_order") for p in placed}
    [refused] = [p for p in placed if shop.payment(p).status is PaymentStatus.FAILED]
    assert refused.payment.provider == "razorpay"
    assert tasks[refused.payment.id].status is TaskStatus.FAILED
    [waiting] = [p for p in placed if shop.payment(p).status is PaymentStatus.PROCESSING]
    assert waiting.payment.provider == "stripe"
    retry = tasks[waiting.payment.id]
    assert (retry.status, retry.attempts) == (TaskStatus.PENDING, 1)
    assert retry.last_error is not None
    assert retry.last_error.startswith("stripe answered 503")
    answered = [p for p in placed if p is not waiting]
    positions = created_positions(app, db, answered)
    assert positions == list(range(positions[0], positions[0] + 3)), "one save, the refusal too"


class CancelsDuringTheCall(PassThrough):
    """The customer cancels one order while its provider call is under way."""

    def __init__(self, inner: PaymentGateway, shop: Shop, victim: Placed) -> None:
        super().__init__(inner)
        self.shop, self.victim = shop, victim

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        created = self.inner.create_order(request)
        if request.payment_id == self.victim.payment.id:
            self.shop.cancel(self.victim, "changed my mind")
        return created


def test_a_conflict_on_one_payment_loses_none_of_the_others(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    lean: dict[str, PaymentGateway],
) -> None:
    placed = place(shop, app, db, "stripe", "stripe", "stripe", "stripe")
    victim = placed[1]
    gateways = {"stripe": CancelsDuringTheCall(lean["stripe"], shop, victim)}
    executor = Executor(queue, provider_calls(app, gateways), BATCH)

    assert executor.run_one()
    executor.close()

    for p in placed:
        assert task_of(queue, p.payment.id, "create_order").status is TaskStatus.DONE
        if p is not victim:
            payment = shop.payment(p)
            assert payment.status is PaymentStatus.PENDING
            [intent] = sandbox.stripe_intents_for(str(p.payment.id))
            assert payment.gateway_order_id == intent["id"]
    cancelled = shop.payment(victim)
    assert (cancelled.status, cancelled.gateway_order_id) == (PaymentStatus.CANCELED, None)
    assert len(sandbox.stripe_intents_for(str(victim.payment.id))) == 1


class DiesOnTheSecondCall(PassThrough):
    def __init__(self, inner: PaymentGateway) -> None:
        super().__init__(inner)
        self.calls = 0
        self._lock = threading.Lock()

    def create_order(self, request: ProviderOrderRequest) -> ProviderOrder:
        created = self.inner.create_order(request)
        with self._lock:
            self.calls += 1
            if self.calls == 2:
                raise ProcessDied
        return created


def test_a_crash_mid_batch_leaves_every_task_leased_and_creates_nothing_twice(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    lean: dict[str, PaymentGateway],
) -> None:
    placed = place(shop, app, db, "razorpay", "razorpay", "razorpay")
    dying = {"razorpay": DiesOnTheSecondCall(lean["razorpay"])}
    short_lease = replace(BATCH, lease_seconds=1.0, call_concurrency=1)
    doomed = Executor(queue, provider_calls(app, dying), short_lease)

    with pytest.raises(ProcessDied):
        doomed.run_one()

    made = {p.payment.id: sandbox.razorpay_orders_for(str(p.payment.id)) for p in placed}
    assert sorted(len(orders) for orders in made.values()) == [0, 1, 1]
    assert all(shop.payment(p).status is PaymentStatus.PROCESSING for p in placed)
    survivor = Executor(queue, provider_calls(app, lean), BATCH)
    assert not survivor.run_one(), "leased until the dead executor's leases end"
    wait_until(survivor.run_one, what="the leases to run out and the tasks to be taken over")
    survivor.close()

    for p in placed:
        payment = shop.payment(p)
        assert payment.status is PaymentStatus.PENDING
        orders = sandbox.razorpay_orders_for(str(p.payment.id))
        assert [o["id"] for o in orders] == [payment.gateway_order_id]
        if made[p.payment.id]:
            assert orders == made[p.payment.id], "the retry found the first attempt's order"
        task = task_of(queue, p.payment.id, "create_order")
        assert (task.status, task.attempts) == (TaskStatus.DONE, 2)


def test_settling_a_batch_settles_only_the_tasks_whose_lease_still_holds(
    app: CheckoutApplication, db: Engine, shop: Shop, queue: TaskQueue
) -> None:
    place(shop, app, db, "stripe", "stripe", "razorpay")
    mine = queue.claim_many(60.0, 10)
    assert [t.attempts for t in mine] == [1, 1, 1]
    assert [t.id for t in mine] == sorted(t.id for t in mine)
    lost = mine[1]
    with db.begin() as conn:  # its lease ran out while we called; another executor took it
        conn.execute(
            sa.update(provider_tasks)
            .where(provider_tasks.c.id == lost.id)
            .values(lease_until=sa.func.now() - sa.text("interval '1 second'"))
        )
    [taken_over] = queue.claim_many(60.0, 10)
    assert (taken_over.id, taken_over.attempts) == (lost.id, 2)

    settled = queue.complete_many(mine)

    assert settled == {mine[0].id, mine[2].id}
    still = task_of(queue, lost.payment_id, "create_order")
    assert (still.status, still.attempts) == (TaskStatus.PENDING, 2)
    assert queue.complete_many([taken_over]) == {lost.id}
    assert queue.complete_many([taken_over]) == set(), "done already: settled once"


def test_a_run_takes_the_due_creates_together_and_other_kinds_one_at_a_time(
    app: CheckoutApplication,
    db: Engine,
    shop: Shop,
    sandbox: ProviderSandbox,
    queue: TaskQueue,
    lean: dict[str, PaymentGateway],
) -> None:
    """A cancel or a refund makes its calls one after another: claimed one at a time, its
    lease need only outlast one call, and the creates never starve it."""
    first, second = place(shop, app, db, "stripe", "stripe")
    executor = Executor(queue, provider_calls(app, lean), BATCH)
    assert executor.run_one()
    for placed in (first, second):
        shop.cancel(placed, "changed my mind")
    later = place(shop, app, db, "stripe", "razorpay")

    assert executor.run_one()

    assert all(shop.payment(p).status is PaymentStatus.PENDING for p in later)
    cancels = [task_of(queue, p.payment.id, "cancel") for p in (first, second)]
    assert sorted(t.status.value for t in cancels) == ["done", "pending"]
    assert executor.run_one()
    executor.close()
    assert {task_of(queue, p.payment.id, "cancel").status for p in (first, second)} == {
        TaskStatus.DONE
    }
    for placed in (first, second):
        [intent] = sandbox.stripe_intents_for(str(placed.payment.id))
        assert intent["status"] == "canceled"


def test_one_claim_leases_up_to_each_lanes_limit_oldest_first_in_one_statement(
    app: CheckoutApplication, db: Engine, shop: Shop, queue: TaskQueue
) -> None:
    placed = place(shop, app, db, "stripe", "stripe", "razorpay", "stripe")
    for p in placed[:3]:
        shop.cancel(p, "changed my mind")
    ProjectionRunner(app, db, ProviderTaskFeed()).catch_up()
    sent: list[tuple[str, bool]] = []

    def seen(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        driver = conn.connection.driver_connection
        sent.append((statement, bool(getattr(driver, "autocommit", False))))

    sa.event.listen(db, "before_cursor_execute", seen)
    try:
        first = queue.claim_lanes(60.0, {CREATES: 2, OTHERS: 2})
    finally:
        sa.event.remove(db, "before_cursor_execute", seen)

    assert len(sent) == 1, "both lanes in one statement"
    assert sent[0][1], "on its own: no BEGIN and COMMIT around it"
    creates = [t for t in first if t.kind.value == "create_order"]
    cancels = [t for t in first if t.kind.value == "cancel"]
    assert [t.payment_id for t in creates] == [p.payment.id for p in placed[:2]]
    assert [t.payment_id for t in cancels] == [p.payment.id for p in placed[:2]]
    assert [t.id for t in first] == sorted(t.id for t in first), "in the queue's order"
    rest = queue.claim_lanes(60.0, {CREATES: 10, OTHERS: 10})
    assert sorted((t.kind.value, t.payment_id) for t in rest) == sorted(
        [
            ("create_order", placed[2].payment.id),
            ("create_order", placed[3].payment.id),
            ("cancel", placed[2].payment.id),
        ]
    )
    assert queue.claim_lanes(60.0, {CREATES: 10, OTHERS: 10}) == [], "all leased"


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_lanes_claim_reads_its_own_index_in_order_past_any_number_of_settled_tasks(
    db: Engine, queue: TaskQueue
) -> None:
    """The claim's cost must not grow with the tasks settled since the last vacuum: each
    lane's claim is an ordered scan of the lane's own partial index that stops at its
    LIMIT (revision 0010). Over the one index of pending tasks, the creates' lane was a
    BitmapAnd with the unique call index (every create ever) and a sort, and a bitmap scan
    never marks a settled task's entry dead, so every claim walked all of them."""
    settled = 3_000
    with db.begin() as conn:
        conn.execute(
            sa.insert(provider_tasks),
            [{"kind": "create_order", "payment_id": uuid4()} for _ in range(settled + 40)],
        )
        conn.execute(  # settled, as executors settle them: their entries are dead now
            sa.update(provider_tasks)
            .where(
                provider_tasks.c.id
                <= sa.select(sa.func.min(provider_tasks.c.id)).scalar_subquery() + settled - 1
            )
            .values(status=TaskStatus.DONE.value)
        )
        conn.execute(sa.insert(provider_tasks), {"kind": "cancel", "payment_id": uuid4()})
    with db.connect() as conn:
        conn.execute(sa.text("ANALYZE provider_tasks"))
        conn.commit()
    sent: list[tuple[str, Any]] = []

    def seen(conn: sa.Connection, cursor: object, statement: str, params: Any, *_: object) -> None:
        sent.append((statement, params))

    sa.event.listen(db, "before_cursor_execute", seen)
    try:
        first = queue.claim_lanes(60.0, {CREATES: 16, OTHERS: 1})
    finally:
        sa.event.remove(db, "before_cursor_execute", seen)
    assert len(first) == 17, "16 creates past the settled ones, and the cancel"
    [(statement, params)] = sent

    raw = db.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}", params)
            [[plans]] = cursor.fetchall()
    finally:
        raw.rollback()
        raw.close()
    nodes = list(_plan_nodes(plans[0]["Plan"]))
    lanes = {node["Subplan Name"]: node for node in nodes if node.get("Subplan Name")}
    for name, index in (
        ("CTE due_0", "ix_provider_tasks_pending_creates"),
        ("CTE due_1", "ix_provider_tasks_pending_others"),
    ):
        lane = list(_plan_nodes(lanes[name]))
        kinds = [node["Node Type"] for node in lane]
        assert "Sort" not in kinds, (name, kinds)
        assert "BitmapAnd" not in kinds, (name, kinds)
        scans = [node for node in lane if node["Node Type"] == "Index Scan"]
        assert [scan["Index Name"] for scan in scans] == [index], (name, kinds)
        # The explain's claim comes after the real one: the scan before it marked the
        # settled tasks' entries dead, and this one steps over them.
        assert lanes[name]["Shared Hit Blocks"] + lanes[name]["Shared Read Blocks"] < 100, name
