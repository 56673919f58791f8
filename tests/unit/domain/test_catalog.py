from __future__ import annotations

from uuid import uuid5

import pytest

from domain import CHECKOUT_NAMESPACE, InvalidProduct, Money, Product, UnknownCurrency
from domain.identity import stable_id


def register(sku: str = "SKU-1") -> Product:
    return Product.register(sku, "Mug", "vendor-1", 1299, "usd")


def is_active(product: Product) -> bool:
    """Read afresh: mypy keeps ``product.active`` narrowed across the calls that change it."""
    return product.active


def test_register_normalises_currency_and_exposes_price() -> None:
    product = register()
    assert product.currency == "USD"
    assert product.price == Money.of(1299, "USD")
    assert product.active
    assert [type(e).__name__ for e in product.collect_events()] == ["Registered"]


def test_id_is_derived_from_the_sku() -> None:
    assert register("SKU-9").id == Product.id_for("SKU-9")
    assert Product.id_for("SKU-9") == uuid5(CHECKOUT_NAMESPACE, "product:SKU-9")
    assert Product.id_for("SKU-9") != stable_id("stock", "SKU-9")


@pytest.mark.parametrize(
    ("sku", "name", "vendor", "amount"),
    [
        ("", "Mug", "v", 1),
        (" SKU", "Mug", "v", 1),
        ("SKU", " ", "v", 1),
        ("SKU", "Mug", "", 1),
        ("SKU", "Mug", "v", -1),
        ("SKU", "Mug", "v", 1.5),
    ],
)
def test_register_refuses_invalid_fields(sku: str, name: str, vendor: str, amount: int) -> None:
    with pytest.raises(InvalidProduct):
        Product.register(sku, name, vendor, amount, "USD")


def test_register_refuses_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        Product.register("SKU", "Mug", "v", 1, "ABC")


def test_update_records_only_changes() -> None:
    product = register()
    product.collect_events()
    assert product.update(name="Mug", unit_amount=1299, currency="usd") is False
    assert product.collect_events() == []
    assert product.update(unit_amount=1500, vendor_id="vendor-2") is True
    (updated,) = product.collect_events()
    assert isinstance(updated, Product.Updated)
    assert (updated.name, updated.vendor_id, updated.unit_amount, updated.currency) == (
        "Mug",
        "vendor-2",
        1500,
        "USD",
    )
    assert product.price == Money.of(1500, "USD")


def test_update_validates_before_recording() -> None:
    product = register()
    with pytest.raises(UnknownCurrency):
        product.update(currency="NOPE")
    assert product.version == 1


def test_deactivate_and_reactivate_are_idempotent() -> None:
    product = register()
    assert product.deactivate() is True
    assert product.deactivate() is False
    assert not product.active
    assert product.reactivate() is True
    assert product.reactivate() is False
    assert is_active(product)
    names = [type(e).__name__ for e in product.collect_events()]
    assert names == ["Registered", "Deactivated", "Reactivated"]
