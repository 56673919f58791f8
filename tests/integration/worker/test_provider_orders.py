"""Checkout to payable: the worker creates the provider's object and records it."""

from __future__ import annotations

from prometheus_client import REGISTRY

from application.ports import PaymentGateway
from domain import OrderStatus, PaymentStatus
from infrastructure.worker.tasks import TaskQueue, TaskStatus
from tests.integration.payments.sandbox import RAZORPAY_KEY_ID, ProviderSandbox
from tests.integration.shop import Shop
from tests.integration.worker.conftest import StartWorker
from tests.integration.worker.harness import find_task, task_of
from tests.waiting import wait_until


def calls(provider: str, outcome: str, operation: str = "create_order") -> float:
    labels = {"provider": provider, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("checkout_provider_calls_total", labels) or 0.0


def test_a_stripe_checkout_gets_a_payment_intent(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
) -> None:
    placed = shop.buy("stripe")
    worker(gateways)

    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
        what="the payment to become payable",
    )

    [intent] = sandbox.stripe_intents_for(str(placed.payment.id))
    assert payment.gateway_order_id == payment.gateway_payment_id == intent["id"]
    assert payment.client_secret == intent["client_secret"]
    assert payment.key_id is None
    assert (intent["amount"], intent["currency"]) == (2500, "usd")
    assert intent["metadata"]["orderId"] == str(placed.order.id)
    task = wait_until(
        lambda: (t := task_of(queue, placed.payment.id, "create_order")).status != "pending" and t,
        what="the task to be settled",
    )
    assert (task.status, task.attempts, task.last_error) == (TaskStatus.DONE, 1, None)


def test_a_razorpay_checkout_gets_an_order(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
) -> None:
    placed = shop.buy("razorpay")
    worker(gateways)

    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
        what="the payment to become payable",
    )

    [order] = sandbox.razorpay_orders_for(str(placed.payment.id))
    assert payment.gateway_order_id == order["id"]
    assert (payment.gateway_payment_id, payment.client_secret) == (None, None)
    assert payment.key_id == RAZORPAY_KEY_ID
    assert (order["amount"], order["currency"]) == (39800, "INR")


def test_provider_outages_are_retried_until_it_answers(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
) -> None:
    sandbox.fault("/v1/payment_intents", 503, count=3)
    transient_before = calls("stripe", "transient")
    placed = shop.buy("stripe")
    worker(gateways)

    wait_until(lambda: shop.payment(placed).status is PaymentStatus.PENDING, what="payable")

    assert len(sandbox.stripe_intents_for(str(placed.payment.id))) == 1
    assert sandbox.faults_left() == []
    task = wait_until(
        lambda: (t := task_of(queue, placed.payment.id, "create_order")).status != "pending" and t,
        what="the task to be settled",
    )
    assert (task.status, task.attempts) == (TaskStatus.DONE, 4)
    assert calls("stripe", "transient") - transient_before == 3


def test_a_refused_creation_fails_the_payment_with_the_reason(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
) -> None:
    sandbox.fault("/v1/orders", 400)
    placed = shop.buy("razorpay")
    worker(gateways)

    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.FAILED and p,
        what="the payment to fail",
    )

    assert payment.failure_reason == "The server encountered an error (sandbox fault injection)."
    assert shop.order(placed).status is OrderStatus.PENDING_PAYMENT
    task = wait_until(
        lambda: (t := task_of(queue, placed.payment.id, "create_order")).status != "pending" and t,
        what="the task to be settled",
    )
    assert (task.status, task.last_error) == (TaskStatus.FAILED, payment.failure_reason)
    assert sandbox.razorpay_orders_for(str(placed.payment.id)) == []


def test_with_no_provider_configured_tasks_wait_for_one(
    shop: Shop,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
) -> None:
    placed = shop.buy("stripe")
    unconfigured = worker({})

    waiting = wait_until(
        lambda: (
            (t := find_task(queue, placed.payment.id, "create_order")) and t.attempts >= 2 and t
        ),
        what="the task to be tried twice",
    )

    assert (waiting.status, waiting.last_error) == (TaskStatus.PENDING, "provider not configured")
    assert unconfigured.alive
    assert shop.payment(placed).status is PaymentStatus.PROCESSING

    worker(gateways)  # a worker that has the keys picks it up

    wait_until(lambda: shop.payment(placed).status is PaymentStatus.PENDING, what="payable")
