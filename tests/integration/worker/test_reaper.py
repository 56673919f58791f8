"""The expiry reaper, and cancelling what the provider holds for an ended order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from application.orders import EXPIRED, OrderLifecycle
from application.payments import PaymentOutcomes
from application.ports import PaymentGateway
from domain import OrderStatus, PaymentStatus
from infrastructure.worker.reaper import ExpiryReaper
from infrastructure.worker.tasks import TaskQueue, TaskStatus
from projections.orders import OrdersView
from projections.queries import OrderQueries
from projections.runner import ProjectionRunner
from tests.integration.payments.sandbox import ProviderSandbox
from tests.integration.shop import TTL, SettableClock, Shop
from tests.integration.worker.conftest import StartWorker
from tests.integration.worker.harness import find_task
from tests.waiting import wait_until


def test_an_unpaid_order_expires_releases_stock_and_cancels_the_intent(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    clock: SettableClock,
    queue: TaskQueue,
) -> None:
    placed = shop.buy("stripe", quantity=3)
    worker(gateways, with_order_view=True)
    payment = wait_until(
        lambda: (p := shop.payment(placed)).status is PaymentStatus.PENDING and p,
        what="the payment intent",
    )
    assert shop.available("stripe") == 997

    clock.advance(TTL + timedelta(seconds=1))

    wait_until(lambda: shop.order(placed).status is OrderStatus.CANCELLED, what="the expiry")
    assert shop.order(placed).cancel_reason == EXPIRED
    assert shop.available("stripe") == 1000
    intent_id = payment.gateway_order_id
    assert intent_id is not None
    wait_until(
        lambda: sandbox.stripe_intent(intent_id)["status"] == "canceled",
        what="the intent to be cancelled at Stripe",
    )
    wait_until(
        lambda: (t := find_task(queue, placed.payment.id, "cancel")) and t.status == "done",
        what="the cancel task to be settled",
    )


def test_an_order_cancelled_before_its_intent_exists_gets_none(
    shop: Shop,
    sandbox: ProviderSandbox,
    gateways: dict[str, PaymentGateway],
    worker: StartWorker,
    queue: TaskQueue,
    app: CheckoutApplication,
) -> None:
    placed = shop.buy("stripe")
    OrderLifecycle(app).cancel(placed.order.id, "changed my mind", "alice")

    worker(gateways)

    for kind in ("create_order", "cancel"):

        def settled(k: str = kind) -> bool:
            t = find_task(queue, placed.payment.id, k)
            return t is not None and t.status is TaskStatus.DONE

        wait_until(settled, what=f"the {kind} task")
    assert sandbox.stripe_intents_for(str(placed.payment.id)) == []
    assert shop.payment(placed).status is PaymentStatus.CANCELED


def test_the_reaper_leaves_orders_still_in_their_window_or_paid(
    app: CheckoutApplication, db: Engine, shop: Shop, clock: SettableClock
) -> None:
    waiting = shop.buy("stripe", customer="early")
    paid = shop.buy("stripe", customer="paid")
    PaymentOutcomes(app).succeeded(
        paid.payment.id, "pi_paid", paid.payment.amount, paid.payment.currency
    )
    clock.advance(timedelta(minutes=10))
    later = shop.buy("stripe", customer="late")
    reaper = ExpiryReaper(OrderQueries(db), OrderLifecycle(app), clock)
    view = ProjectionRunner(app, db, OrdersView())

    view.catch_up()
    assert reaper.reap_once() == 0

    clock.advance(TTL - timedelta(minutes=10))
    view.catch_up()
    assert reaper.reap_once() == 1
    assert shop.order(waiting).status is OrderStatus.CANCELLED
    assert shop.order(later).status is OrderStatus.PENDING_PAYMENT
    assert shop.order(paid).status is OrderStatus.PAYMENT_CONFIRMED

    view.catch_up()
    assert reaper.reap_once() == 0  # the view caught up: nothing left to expire
