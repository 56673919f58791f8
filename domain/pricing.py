"""Pricing a cart from the catalog.

Prices and totals come from the catalog, never from the client. Every check collects all
offending skus before raising, so one rejected request tells the customer everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain import bounds
from domain.catalog import Product
from domain.errors import (
    EmptyCart,
    InvalidQuantity,
    MixedCurrencies,
    OutOfBounds,
    ProductInactive,
    UnknownProduct,
)
from domain.money import Money
from domain.order import OrderLine

# Upper bound per line: guards against typos (1000 instead of 10) and integer blow-ups in
# totals; real bulk orders go through a sales channel, not this checkout.
MAX_LINE_QUANTITY = bounds.MAX_LINE_QUANTITY


@dataclass(frozen=True, slots=True)
class PricedCart:
    lines: tuple[OrderLine, ...]
    currency: str

    @property
    def total(self) -> Money:
        return Money.of(sum(line.total for line in self.lines), self.currency)


def price_cart(
    products: Mapping[str, Product],
    wanted: Mapping[str, int],
    max_quantity: int = MAX_LINE_QUANTITY,
) -> PricedCart:
    """Turn {sku: quantity} into priced lines in one currency.

    ``products`` holds the catalog entries that exist; a wanted sku missing from it is
    unknown. Raises EmptyCart, InvalidQuantity, UnknownProduct, ProductInactive or
    MixedCurrencies, in that order.
    """
    if not wanted:
        raise EmptyCart()
    if len(wanted) > bounds.MAX_LINES:
        raise OutOfBounds("items", f"must have at most {bounds.MAX_LINES} lines")
    for sku, quantity in wanted.items():
        if type(quantity) is not int or not 1 <= quantity <= max_quantity:
            raise InvalidQuantity(quantity, sku, max_quantity)
    unknown = [sku for sku in wanted if sku not in products]
    if unknown:
        raise UnknownProduct(unknown)
    inactive = [sku for sku in wanted if not products[sku].active]
    if inactive:
        raise ProductInactive(inactive)
    currencies = {products[sku].currency for sku in wanted}
    if len(currencies) > 1:
        raise MixedCurrencies(currencies)
    lines = tuple(
        OrderLine(
            sku=sku,
            quantity=quantity,
            unit_amount=products[sku].unit_amount,
            vendor_id=products[sku].vendor_id,
        )
        for sku, quantity in wanted.items()
    )
    bounds.total(sum(line.total for line in lines), "the order total")
    return PricedCart(lines=lines, currency=currencies.pop())
