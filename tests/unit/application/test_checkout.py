from __future__ import annotations

import pytest

from application.application import CheckoutApplication
from application.catalog import Catalog
from application.checkout import CartItem, Checkout, CheckoutRequest
from application.errors import IdempotencyConflict
from application.orders import OrderLifecycle
from domain import (
    EmptyCart,
    InsufficientStock,
    InvalidQuantity,
    MixedCurrencies,
    OrderStatus,
    PaymentStatus,
    Stock,
    UnknownProduct,
)


def request(
    *items: tuple[str, int], key: str | None = None, customer: str = "alice"
) -> CheckoutRequest:
    return CheckoutRequest(customer, tuple(CartItem(s, q) for s, q in items), "stripe", key)


def test_checkout_prices_from_catalog_and_reserves(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout
) -> None:
    placed = checkout(request(("MUG", 2), ("TEE", 1)))
    assert placed.order.status is OrderStatus.PENDING_PAYMENT
    assert placed.order.amount == 2 * 1250 + 2000
    assert placed.order.currency == "USD"
    assert [line.vendor_id for line in placed.order.lines] == ["vendor-a", "vendor-b"]
    assert placed.payment.status is PaymentStatus.PROCESSING
    assert placed.payment.order_id == placed.order.id
    assert placed.position == app.head_position()
    assert app.load(Stock, Stock.id_for("MUG")).available == 3
    assert app.load(Stock, Stock.id_for("TEE")).available == 1


def test_same_sku_twice_is_one_line(catalog: Catalog, checkout: Checkout) -> None:
    placed = checkout(request(("MUG", 1), ("MUG", 2)))
    assert [(line.sku, line.quantity) for line in placed.order.lines] == [("MUG", 3)]


@pytest.mark.parametrize(
    ("items", "error"),
    [
        ((), EmptyCart),
        ((("NOPE", 1),), UnknownProduct),
        ((("MUG", 0),), InvalidQuantity),
        ((("MUG", 1001),), InvalidQuantity),
        ((("MUG", 1), ("CHAI", 1)), MixedCurrencies),
        ((("MUG", 1), ("TEE", 3)), InsufficientStock),
    ],
)
def test_rejected_checkouts_record_nothing(
    app: CheckoutApplication,
    catalog: Catalog,
    checkout: Checkout,
    items: tuple[tuple[str, int], ...],
    error: type[Exception],
) -> None:
    before = app.head_position()
    with pytest.raises(error):
        checkout(request(*items))
    assert app.head_position() == before
    assert app.load(Stock, Stock.id_for("MUG")).available == 5


def test_insufficient_stock_names_every_short_sku(catalog: Catalog, checkout: Checkout) -> None:
    with pytest.raises(InsufficientStock) as raised:
        checkout(request(("MUG", 6), ("TEE", 3)))
    assert set(raised.value.skus) == {"MUG", "TEE"}


def test_idempotency_key_replays_the_first_response(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout
) -> None:
    first = checkout(request(("MUG", 1), key="k-1"))
    position = app.head_position()
    again = checkout(request(("MUG", 1), key="k-1"))
    assert again.replayed
    assert again.order.id == first.order.id
    assert again.payment.id == first.payment.id
    assert app.head_position() == position
    assert app.load(Stock, Stock.id_for("MUG")).available == 4


def test_idempotency_key_with_another_body_conflicts(
    app: CheckoutApplication, catalog: Catalog, checkout: Checkout
) -> None:
    checkout(request(("MUG", 1), key="k-2"))
    position = app.head_position()
    with pytest.raises(IdempotencyConflict):
        checkout(request(("MUG", 2), key="k-2"))
    assert app.head_position() == position


def test_idempotency_keys_belong_to_one_customer(catalog: Catalog, checkout: Checkout) -> None:
    mine = checkout(request(("MUG", 1), key="shared", customer="alice"))
    theirs = checkout(request(("MUG", 1), key="shared", customer="bob"))
    assert mine.order.id != theirs.order.id
    assert not theirs.replayed


def test_replay_shows_the_first_response_even_after_the_order_moved_on(
    catalog: Catalog, checkout: Checkout, orders: OrderLifecycle
) -> None:
    first = checkout(request(("MUG", 1), key="k-3"))
    orders.cancel(first.order.id, "changed my mind", "alice")
    again = checkout(request(("MUG", 1), key="k-3"))
    assert again.order.status is OrderStatus.PENDING_PAYMENT
