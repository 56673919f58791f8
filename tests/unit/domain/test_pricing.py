from __future__ import annotations

import pytest

from domain import (
    MAX_LINE_QUANTITY,
    EmptyCart,
    InvalidQuantity,
    MixedCurrencies,
    Money,
    OrderLine,
    Product,
    ProductInactive,
    UnknownProduct,
    price_cart,
)


@pytest.fixture
def catalog() -> dict[str, Product]:
    inactive = Product.register("OLD", "Old", "v2", 100, "USD")
    inactive.deactivate()
    return {
        "A": Product.register("A", "Apple", "v1", 250, "USD"),
        "B": Product.register("B", "Banana", "v2", 100, "USD"),
        "E": Product.register("E", "Euro thing", "v3", 100, "EUR"),
        "OLD": inactive,
    }


def test_prices_come_from_the_catalog(catalog: dict[str, Product]) -> None:
    cart = price_cart(catalog, {"A": 2, "B": 3})
    assert cart.lines == (OrderLine("A", 2, 250, "v1"), OrderLine("B", 3, 100, "v2"))
    assert cart.currency == "USD"
    assert cart.total == Money.of(800, "USD")


def test_empty_cart(catalog: dict[str, Product]) -> None:
    with pytest.raises(EmptyCart):
        price_cart(catalog, {})


@pytest.mark.parametrize("quantity", [0, -1, MAX_LINE_QUANTITY + 1, 1.0, True])
def test_quantity_out_of_range(catalog: dict[str, Product], quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        price_cart(catalog, {"A": quantity})


def test_unknown_skus_are_all_listed(catalog: dict[str, Product]) -> None:
    with pytest.raises(UnknownProduct) as caught:
        price_cart(catalog, {"X": 1, "A": 1, "Y": 1})
    assert caught.value.skus == ["X", "Y"]


def test_inactive_products_cannot_be_bought(catalog: dict[str, Product]) -> None:
    with pytest.raises(ProductInactive) as caught:
        price_cart(catalog, {"OLD": 1, "A": 1})
    assert caught.value.skus == ["OLD"]


def test_mixed_currencies_are_refused(catalog: dict[str, Product]) -> None:
    with pytest.raises(MixedCurrencies) as caught:
        price_cart(catalog, {"A": 1, "E": 1})
    assert caught.value.currencies == ["EUR", "USD"]
