"""Stock only counts (adr/0021): the Order decides which units an order holds, and how often
they can be released or sold. These are the guards the per-order map used to double."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.orders import OrderLifecycle
from application.payments import PaymentOutcomes
from domain import InvalidTransition, Order, Payment, Stock, reserve_all

from .conftest import FrozenClock


def place(checkout: Checkout, key: str | None = None) -> Placed:
    items = (CartItem("MUG", 2), CartItem("TEE", 1), CartItem("MUG", 1))
    return checkout(CheckoutRequest("alice", items, "stripe", idempotency_key=key))


def stock_events(app: CheckoutApplication, sku: str, kind: type[Any]) -> list[Any]:
    events = app.repository.event_store.get(Stock.id_for(sku))
    return [e for e in events if isinstance(e, kind)]


def counts(app: CheckoutApplication, sku: str) -> tuple[int, int]:
    stock = app.load(Stock, Stock.id_for(sku))
    return stock.on_hand, stock.reserved


def test_a_cancellation_releases_what_the_orders_lines_hold(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, orders: OrderLifecycle
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "changed my mind", "alice")

    released = {
        sku: [(e.order_id, e.quantity) for e in stock_events(app, sku, Stock.Released)]
        for sku in ("MUG", "TEE")
    }
    order = str(placed.order.id)
    assert released == {"MUG": [(order, 3)], "TEE": [(order, 1)]}
    assert (counts(app, "MUG"), counts(app, "TEE")) == ((5, 0), (2, 0))


def test_a_second_cancellation_or_expiry_releases_nothing(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    clock: FrozenClock,
) -> None:
    checkout(CheckoutRequest("bob", (CartItem("MUG", 2),), "stripe"))
    placed = place(checkout)
    orders.cancel(placed.order.id, "once", "alice")
    with pytest.raises(InvalidTransition):
        orders.cancel(placed.order.id, "twice", "alice")
    clock.advance(31 * 60)
    assert orders.expire(placed.order.id, clock.now()) is None

    assert len(stock_events(app, "MUG", Stock.Released)) == 1
    assert counts(app, "MUG") == (5, 2), "bob's two units are still held"


def test_a_repeated_success_sells_the_units_once(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout, payments: PaymentOutcomes
) -> None:
    placed = place(checkout)
    amount, currency = placed.payment.amount, placed.payment.currency
    payments.succeeded(placed.payment.id, "pi_1", amount, currency, "evt_1")
    payments.succeeded(placed.payment.id, "pi_1", amount, currency, "evt_2")  # redelivered
    payments.succeeded(placed.payment.id, "pi_2", amount, currency, "evt_3")  # a second charge

    committed = [(e.order_id, e.quantity) for e in stock_events(app, "MUG", Stock.Committed)]
    assert committed == [(str(placed.order.id), 3)]
    assert counts(app, "MUG") == (2, 0)


def test_a_sale_after_the_cancellation_sells_nothing(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    orders: OrderLifecycle,
    payments: PaymentOutcomes,
) -> None:
    placed = place(checkout)
    orders.cancel(placed.order.id, "changed my mind", "alice")
    outcome = payments.succeeded(
        placed.payment.id, "pi_1", placed.payment.amount, placed.payment.currency, "evt_1"
    )
    assert outcome.refund_requested is not None
    assert stock_events(app, "MUG", Stock.Committed) == []
    assert counts(app, "MUG") == (5, 0)


def test_a_duplicate_checkout_collides_on_its_order_and_reserves_nothing(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout
) -> None:
    """What a concurrent duplicate that missed the idempotency look-up would save: the
    aggregate no longer refuses the second reservation, the order's first event does."""
    first = place(checkout, key="k-1")
    stocks = {sku: app.load(Stock, Stock.id_for(sku)) for sku in ("MUG", "TEE")}
    reserve_all(stocks, {"MUG": 1, "TEE": 1}, first.order.id, "customer:alice")
    again = Order.place(
        order_id=first.order.id,
        customer_id="alice",
        lines=first.order.lines,
        currency=first.order.currency,
        payment_id=Payment.id_for(first.order.id),
        provider="stripe",
        expires_at=first.order.expires_at,
        request_fingerprint=first.order.request_fingerprint,
        actor="customer:alice",
    )
    with pytest.raises(IntegrityError):
        app.save(again, *stocks.values())

    assert (counts(app, "MUG"), counts(app, "TEE")) == ((5, 3), (2, 1))
    assert len(stock_events(app, "MUG", Stock.Reserved)) == 1
