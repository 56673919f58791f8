"""No value outside the engine's bounds can be recorded, whichever path it takes."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain import OrderLine, OutOfBounds, Product, Stock, price_cart
from domain.bounds import MAX_LINES, MAX_STOCK, MAX_TOTAL
from domain.errors import InvalidQuantity
from tests.unit.domain.builders import EXPIRES, new_order
from tests.unit.domain.test_payment import succeeded


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"unit_amount": MAX_TOTAL + 1}, "unitAmount"),
        ({"unit_amount": 2**63}, "unitAmount"),
        ({"name": "Mug\x00"}, "name"),
        ({"name": "Mug\nwith a newline"}, "name"),
        ({"name": "M" * 201}, "name"),
        ({"vendor_id": "v\x1b[31m"}, "vendorId"),
        ({"sku": "SKU\x00"}, "sku"),
        ({"sku": "S" * 65}, "sku"),
    ],
)
def test_products_out_of_bounds_are_refused(fields: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "sku": "SKU-1",
        "name": "Mug",
        "vendor_id": "v",
        "unit_amount": 100,
        "currency": "USD",
    } | fields
    with pytest.raises(OutOfBounds) as refused:
        Product.register(**values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_a_product_update_out_of_bounds_records_nothing() -> None:
    product = Product.register("SKU-1", "Mug", "v", 100, "USD")
    version = product.version
    with pytest.raises(OutOfBounds):
        product.update(unit_amount=MAX_TOTAL + 1)
    with pytest.raises(OutOfBounds):
        product.update(name="Mug\x00")
    assert product.version == version


def test_stock_stays_within_a_billion_units() -> None:
    with pytest.raises(OutOfBounds):
        Stock.create("SKU-1", MAX_STOCK + 1)
    stock = Stock.create("SKU-1", MAX_STOCK)
    with pytest.raises(OutOfBounds):
        stock.restock(1)
    with pytest.raises(OutOfBounds):
        Stock.create("SKU-2", 0).set_available(MAX_STOCK + 1)


def test_line_and_order_totals_stay_chargeable() -> None:
    with pytest.raises(OutOfBounds):
        OrderLine("SKU-1", 2, MAX_TOTAL, "v")
    product = Product.register("SKU-1", "Mug", "v", MAX_TOTAL // 2 + 1, "USD")
    with pytest.raises(OutOfBounds):
        price_cart({"SKU-1": product}, {"SKU-1": 2})
    cheap = Product.register("SKU-2", "Cup", "v", MAX_TOTAL // 2, "USD")
    big = Product.register("SKU-3", "Pot", "v", MAX_TOTAL // 2, "USD")
    with pytest.raises(OutOfBounds):
        price_cart({"SKU-2": cheap, "SKU-3": big}, {"SKU-2": 1, "SKU-3": 2})


def test_quantities_and_lines_are_bounded() -> None:
    with pytest.raises(InvalidQuantity):
        OrderLine("SKU-1", 1001, 1, "v")
    products = {f"S-{n}": Product.register(f"S-{n}", "x", "v", 1, "USD") for n in range(101)}
    with pytest.raises(OutOfBounds) as refused:
        price_cart(products, dict.fromkeys(products, 1))
    assert refused.value.field == "items"
    assert MAX_LINES == 100


def test_a_customer_id_with_control_characters_places_no_order() -> None:
    with pytest.raises(OutOfBounds) as refused:
        new_order(customer_id="alice\x00")
    assert refused.value.field == "customerId"
    assert EXPIRES  # the builder's window


def test_a_refund_reason_with_control_characters_is_refused() -> None:
    payment = succeeded()
    with pytest.raises(OutOfBounds):
        payment.request_refund("r1", 100, reason="oops\x00", actor="admin:ops")
    with pytest.raises(OutOfBounds):
        payment.request_refund("r1", 100, reason="x" * 501, actor="admin:ops")
    assert payment.refunds == {}


def test_set_available_never_puts_held_units_back_on_sale() -> None:
    stock = Stock.create("SKU-1", 3)
    stock.reserve(uuid4(), 2)
    assert stock.set_available(3) is True
    assert (stock.on_hand, stock.available) == (5, 3)
    assert stock.set_available(3) is False
