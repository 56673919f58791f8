"""The checker sees a log the use cases would never write, and audit tables edited by hand.

The world is test_checker.py's; each test forges one thing into its event log, either by
saving an aggregate's event through the application past the guard of its command
method (``trigger_event``), or by inserting a stored event through the recorder, or
changes a row the audit's followers wrote (adr/0015), and expects that invariant's kind.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from application.application import CheckoutApplication
from domain import Order, Payment, Stock
from tests.chaos.test_checker import (
    World,
    open_shop,
    provider_sandbox,
    shop,
    start_api,
    subjects,
    world,
)
from tests.e2e.payment_shop import customer
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

# Fixtures used by name below (pytest finds them in this module's namespace).
__all__ = ["open_shop", "provider_sandbox", "shop", "start_api", "world"]


def _app(world: World) -> CheckoutApplication:
    return world.shop.api.container.app


def _first(app: CheckoutApplication, originator_id: uuid.UUID, kind: type[Any]) -> Any:
    return next(event for event in app.events.get(originator_id) if isinstance(event, kind))


def test_a_second_capture_by_the_same_provider_event_is_applied_twice(world: World) -> None:
    app = _app(world)
    payment = app.load(Payment, Payment.id_for(uuid.UUID(world.paid[0].order_id)))
    succeeded = _first(app, payment.id, Payment.Succeeded)
    assert succeeded.provider_event_id  # the webhook's id
    payment.trigger_event(
        Payment.Succeeded,
        gateway_payment_id=succeeded.gateway_payment_id,
        provider_event_id=succeeded.provider_event_id,
    )
    app.save(payment)

    report = world.run()

    assert subjects(report, "webhooks.applied_twice") == {str(payment.id)}
    assert report.kinds() == {"webhooks.applied_twice"}


def test_an_order_confirmed_on_a_charge_that_never_captured_is_reported(world: World) -> None:
    buyer = customer()
    order_id = world.shop.checkout(buyer, "stripe")
    world.shop.payable(order_id, buyer)
    app = _app(world)
    order = app.load(Order, uuid.UUID(order_id))
    # Confirmed as the use case would, with its stock sold, but on no capture at all.
    order.confirm_payment(order.payment_id, "pi_forged" + uuid.uuid4().hex[:8], "stripe")
    stock = [app.load(Stock, Stock.id_for(sku)) for sku in order.quantities]
    for sku in stock:
        sku.commit(order.id, order.quantities[sku.sku])
    app.save(order, *stock)
    wait_until(lambda: not world.moving(), timeout=60, what="the relay to publish it")

    report = world.run()

    assert subjects(report, "money.confirmed_amount") == {order_id}
    assert report.kinds() == {"money.confirmed_amount"}


def test_a_second_confirmation_is_confirmed_twice(world: World) -> None:
    world.relay.stop()  # the topic keeps the first confirmation only: kafka stays whole
    app = _app(world)
    order = app.load(Order, uuid.UUID(world.paid[2].order_id))
    confirmed = _first(app, order.id, Order.Confirmed)
    order.trigger_event(
        Order.Confirmed,
        payment_id=confirmed.payment_id,
        gateway_payment_id=confirmed.gateway_payment_id,
        provider=confirmed.provider,
    )
    app.save(order)

    report = world.run()

    assert subjects(report, "log.confirmed_twice") == {str(order.id)}
    # Order.Confirmed is an effect that happens once per charge, whatever caused it.
    assert subjects(report, "webhooks.applied_twice") == {str(order.id)}
    assert report.kinds() == {"log.confirmed_twice", "webhooks.applied_twice"}


def test_an_event_out_of_sequence_makes_its_history_inconsistent(world: World) -> None:
    app = _app(world)
    payment_id = Payment.id_for(uuid.UUID(world.cancelled))  # no money at any provider
    [last] = app.recorder.select_events(payment_id, desc=True, limit=1)
    app.recorder.insert_events(
        [StoredEvent(last.originator_id, last.originator_version + 2, last.topic, last.state)]
    )

    report = world.run()

    assert subjects(report, "log.inconsistent") == {str(payment_id)}
    assert report.kinds() == {"log.inconsistent"}


def test_an_event_of_an_unknown_kind_is_undecodable(world: World) -> None:
    app = _app(world)
    stranger = uuid.uuid4()
    app.recorder.insert_events([StoredEvent(stranger, 1, "tests.chaos:Forged", b"{}")])
    head = app.head_position()

    report = world.run()

    assert subjects(report, "log.undecodable") == {str(head)}
    assert report.kinds() == {"log.undecodable"}


# -- the audit's followers ---------------------------------------------------------------


def test_a_chain_link_changed_by_hand_fails_the_chain(world: World) -> None:
    position = world.chain()
    at = world.sql(
        "UPDATE audit_chain SET link = repeat('0', 64) WHERE notification_id ="
        " (SELECT min(notification_id) FROM audit_chain WHERE notification_id >= :middle)"
        " RETURNING notification_id",
        middle=position // 2,
    )

    report = world.run()

    # The first finding names the row; the next event, checked against the stored
    # (forged) previous link, fails too.
    assert report.kinds() == {"audit.chain"}
    assert min(int(s) for s in subjects(report, "audit.chain")) == at


def test_a_stock_movement_row_changed_by_hand_differs_from_the_log(world: World) -> None:
    order_id = world.paid[0].order_id
    world.sql(
        "UPDATE order_stock_movements SET originator_version = originator_version + 100"
        " WHERE order_id = :id",
        id=order_id,
    )

    report = world.run()

    assert {s.split("/")[0] for s in subjects(report, "views.rebuild")} == {order_id}
    assert report.kinds() == {"views.rebuild"}
