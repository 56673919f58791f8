"""``CheckoutApplication.load_many``: several aggregates in one statement, the same state
as loading each alone (the worker's batches load their payments and orders so)."""

from __future__ import annotations

import uuid

from application.application import ReadsManyAggregates
from application.catalog import CatalogEntry
from application.checkout import CartItem, CheckoutRequest
from domain import Order, Payment
from entrypoints.bootstrap import Container, build_application


def test_many_payments_load_as_each_alone(container: Container) -> None:
    container.catalog.upsert([CatalogEntry("MANY", "Many", "v1", 300, "EUR", 50)])
    placed = [
        container.checkout(CheckoutRequest(f"c{n}", (CartItem("MANY", 1),), "stripe"))
        for n in range(5)
    ]
    cancelled = placed[0].order
    container.orders.cancel(cancelled.id, "customer_cancelled", actor="customer:c0")
    app = container.app
    assert isinstance(app.recorder, ReadsManyAggregates)
    ids = [p.payment.id for p in placed]
    payments = app.load_many(Payment, [*ids, uuid.uuid4()])
    assert set(payments) == set(ids)  # the unknown id is left out
    for payment_id, payment in payments.items():
        alone = app.load(Payment, payment_id)
        assert (payment.version, payment.status) == (alone.version, alone.status)
    orders = app.load_many(Order, [p.order.id for p in placed])
    assert orders[cancelled.id].status == app.load(Order, cancelled.id).status
    assert orders[cancelled.id].version == 2


def test_an_in_memory_store_loads_many_one_by_one() -> None:
    app = build_application()
    try:
        assert not isinstance(app.recorder, ReadsManyAggregates)
        assert app.load_many(Payment, [uuid.uuid4()]) == {}
    finally:
        app.close()
