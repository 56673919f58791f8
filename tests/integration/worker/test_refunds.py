"""Refunds end to end: requested, paid back by the provider, settled on payment and order."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.application import CheckoutApplication
from application.checkout import Placed
from application.payments import PaymentOutcomes
from application.ports import PaymentGateway
from application.refunds import Refunds
from domain import OrderStatus, PaymentStatus, RefundExceedsCaptured, RefundStatus
from infrastructure.worker.tasks import ProviderTask, TaskQueue, TaskStatus
from tests.integration.payments.sandbox import ProviderSandbox
from tests.integration.shop import Shop
from tests.integration.worker.conftest import StartWorker
from tests.waiting import wait_until

REFUND_PATH = {"stripe": "/v1/refunds", "razorpay": "/v1/payments"}


def paid_order(
    app: CheckoutApplication, shop: Shop, sandbox: ProviderSandbox, provider: str
) -> tuple[Placed, str]:
    """Checkout, the worker's provider object, the customer paying, the webhook's success."""
    placed = shop.buy(provider)
    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
        what="the payment to become payable",
    )
    assert payment.gateway_order_id is not None
    if provider == "stripe":
        charged = sandbox.pay_stripe(payment.gateway_order_id)
    else:
        charged = sandbox.pay_razorpay(payment.gateway_order_id)
    PaymentOutcomes(app).succeeded(
        placed.payment.id, charged, placed.payment.amount, placed.payment.currency, f"evt_{charged}"
    )
    assert shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    return placed, charged


def refund_task(queue: TaskQueue, payment_id: UUID, refund_id: str) -> ProviderTask:
    [task] = [t for t in queue.for_payment(payment_id) if t.refund_id == refund_id]
    return task


def provider_refunds(sandbox: ProviderSandbox, provider: str, charged: str) -> list[int]:
    if provider == "stripe":
        return [r["amount"] for r in sandbox.stripe_refunds_of(charged)]
    return [r["amount"] for r in sandbox.razorpay_refunds_of(charged)]


@pytest.mark.parametrize("provider", ["stripe", "razorpay"])
def test_a_refund_is_paid_back_and_settled(
    app: CheckoutApplication,
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
    provider: str,
) -> None:
    worker(gateways)
    placed, charged = paid_order(app, shop, sandbox, provider)
    total = shop.order(placed).amount
    refunds = Refunds(app)

    partial = refunds.request(
        placed.order.id, 1000, "one item damaged", "admin:test", "key-one item damaged"
    )

    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PARTIALLY_REFUNDED and p,
        what="the provider's refund to be recorded",
    )
    entry = payment.refunds[partial.refund_id]
    assert entry["status"] == RefundStatus.SUCCEEDED
    assert shop.order(placed).status is OrderStatus.PARTIALLY_REFUNDED
    assert provider_refunds(sandbox, provider, charged) == [1000]
    # The provider's webhook confirms it later: a repeat that changes nothing.
    assert entry["gateway_refund_id"] is not None
    repeat = refunds.succeeded(placed.payment.id, partial.refund_id, entry["gateway_refund_id"])
    assert not repeat.changed

    with pytest.raises(RefundExceedsCaptured):
        refunds.request(
            placed.order.id, total - 999, "more than is left", "admin:test", "key-more than is left"
        )
    rest = refunds.request(
        placed.order.id, None, "everything else", "admin:test", "key-everything else"
    )

    wait_until(
        lambda: shop.payment(placed).status is PaymentStatus.REFUNDED, what="the full refund"
    )
    order = shop.order(placed)
    assert (order.status, order.refunded_total) == (OrderStatus.REFUNDED, total)
    assert sorted(provider_refunds(sandbox, provider, charged)) == sorted([1000, total - 1000])
    for refund_id in (partial.refund_id, rest.refund_id):

        def settled(r: str = refund_id) -> bool:
            return refund_task(queue, placed.payment.id, r).status is TaskStatus.DONE

        wait_until(settled, what="the refund task to be settled")


def test_a_refund_the_provider_refuses_fails_and_frees_the_amount(
    app: CheckoutApplication,
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
) -> None:
    worker(gateways)
    placed, charged = paid_order(app, shop, sandbox, "stripe")
    sandbox.fault(REFUND_PATH["stripe"], 400)

    requested = Refunds(app).request(placed.order.id, 1000, "damaged", "admin:t", "k-damaged")

    payment = wait_until(
        lambda: (
            (p := shop.payment(placed)).refunds[requested.refund_id]["status"]
            == RefundStatus.FAILED
            and p
        ),
        what="the refusal to be recorded",
    )
    assert payment.refunds[requested.refund_id]["failure_reason"]
    assert payment.refundable == payment.captured_amount
    assert payment.status is PaymentStatus.SUCCEEDED
    assert shop.order(placed).status is OrderStatus.PAYMENT_CONFIRMED
    assert provider_refunds(sandbox, "stripe", charged) == []
    wait_until(
        lambda: (
            refund_task(queue, placed.payment.id, requested.refund_id).status is TaskStatus.FAILED
        ),
        what="the refund task to be settled",
    )
