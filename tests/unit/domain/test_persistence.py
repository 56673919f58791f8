"""Aggregates survive the library's mapper and an event store (in-memory POPO recorder)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, MutableOrImmutableAggregate
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain import Order, OrderStatus, Payment, PaymentStatus, Product, Provider, Stock
from tests.unit.domain.builders import new_order, paid_pair


@pytest.fixture
def app() -> Iterator[Application[UUID]]:
    application = Application[UUID]()
    yield application
    application.close()


def round_trip(app: Application[UUID], aggregate: Aggregate) -> Aggregate:
    app.save(aggregate)
    return app.repository.get(aggregate.id)


def test_product_round_trip(app: Application[UUID]) -> None:
    product = Product.register("SKU-1", "Mug", "v1", 1299, "EUR")
    product.update(unit_amount=999)
    product.deactivate()
    assert round_trip(app, product) == product


def test_stock_round_trip(app: Application[UUID]) -> None:
    stock = Stock.create("SKU-1", 10)
    first, second = uuid4(), uuid4()
    stock.reserve(first, 2)
    stock.reserve(second, 3)
    stock.commit(first, 2)
    stock.restock(4)
    copy = round_trip(app, stock)
    assert copy == stock
    assert isinstance(copy, Stock)
    assert (copy.on_hand, copy.reserved, copy.legacy_reservations) == (12, 3, {})


def test_order_and_payment_round_trip(app: Application[UUID]) -> None:
    order, payment = paid_pair()
    payment.fail_attempt("late decline")  # ignored, records nothing
    payment.request_refund("r1", 1000)
    payment.complete_refund("r1", "re_1")
    payment.request_refund("r2", 500)
    payment.fail_refund("r2", "declined")
    order.record_refund(1000)
    app.save(order, payment)
    assert app.repository.get(order.id) == order
    assert app.repository.get(payment.id) == payment


def test_cancelled_order_round_trip(app: Application[UUID]) -> None:
    order = new_order()
    order.cancel("expired")
    copy = round_trip(app, order)
    assert copy == order
    assert isinstance(copy, Order)
    assert copy.status is OrderStatus.CANCELLED


def test_order_created_is_stored_at_class_version_3(app: Application[UUID]) -> None:
    order = new_order()
    stored = app.mapper.to_stored_event(order.collect_events()[0])
    state = app.mapper.transcoder.decode(stored.state)
    assert state["class_version"] == 3
    assert state["request_fingerprint"] == "fp-1"
    assert state["actor"] == "unknown"  # the builder names no actor


def as_v1(app: Application[UUID], stored: StoredEvent) -> StoredEvent:
    """Rewrite a stored Order.Created into the shape version 1 wrote: no fingerprint, no
    actor."""
    state = app.mapper.transcoder.decode(stored.state)
    del state["class_version"], state["request_fingerprint"], state["actor"]
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=app.mapper.transcoder.encode(state),
    )


def test_v1_created_event_is_upcast_by_the_mapper(app: Application[UUID]) -> None:
    order = new_order()
    v1 = as_v1(app, app.mapper.to_stored_event(order.collect_events()[0]))
    event = app.mapper.to_domain_event(v1)
    assert isinstance(event, Order.Created)
    assert event.request_fingerprint is None
    assert event.lines == [line.to_dict() for line in order.lines]


def test_v1_stream_still_reconstructs(app: Application[UUID]) -> None:
    order = new_order()
    order.confirm_payment(order.payment_id, "pi_1", "stripe")
    created, confirmed = (app.mapper.to_stored_event(e) for e in order.collect_events())
    app.recorder.insert_events([as_v1(app, created), confirmed])
    copy: MutableOrImmutableAggregate[UUID] = app.repository.get(order.id)
    assert isinstance(copy, Order)
    assert copy.request_fingerprint is None
    assert copy.status is OrderStatus.PAYMENT_CONFIRMED
    assert (copy.lines, copy.amount, copy.confirmed_at) == (
        order.lines,
        order.amount,
        order.confirmed_at,
    )


def test_payment_ids_collide_for_the_same_order(app: Application[UUID]) -> None:
    order_id = uuid4()
    app.save(Payment.initiate(order_id, "stripe", 100, "USD"))
    duplicate = Payment.initiate(order_id, "stripe", 100, "USD")
    with pytest.raises(IntegrityError):
        app.save(duplicate)


def test_a_payment_read_back_from_a_snapshot_keeps_its_enums() -> None:
    class Snapshotting(Application[UUID]):
        snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
            Payment: 2
        }

    app = Snapshotting()
    payment = Payment.initiate(uuid4(), "razorpay", 4000, "INR")
    payment.record_provider_order("order_1", key_id="rzp_test_k")
    payment.record_capture("pay_1", 4000, "INR")
    payment.request_refund("r1", 100, reason="damaged", actor="admin:ops")
    app.save(payment)
    assert app.snapshots is not None
    assert len(list(app.snapshots.get(payment.id))) == 2

    restored: Payment = app.repository.get(payment.id)

    assert restored == payment
    assert restored.status is PaymentStatus.SUCCEEDED
    assert restored.provider is Provider.RAZORPAY
    app.close()
