"""A catalog entry is checked by the domain's rules and bounds, before anything is loaded."""

from __future__ import annotations

import dataclasses

import pytest

from application.catalog import Catalog, CatalogEntry
from domain import DomainError, InvalidProduct, InvalidQuantity, OutOfBounds, UnknownCurrency
from domain.bounds import MAX_NAME, MAX_SKU, MAX_STOCK, MAX_TOTAL, MAX_VENDOR_ID

ENTRY = CatalogEntry("MUG", "Mug", "vendor-a", 1250, "usd", 5)


def test_a_valid_entry_comes_back_with_its_currency_normalised() -> None:
    assert ENTRY.checked() == dataclasses.replace(ENTRY, currency="USD")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sku": "S" * (MAX_SKU + 1)}, "sku"),
        ({"name": "M" * (MAX_NAME + 1)}, "name"),
        ({"vendor_id": "v" * (MAX_VENDOR_ID + 1)}, "vendorId"),
        ({"name": "Mug\x00"}, "name"),
        ({"unit_amount": MAX_TOTAL + 1}, "unitAmount"),
        ({"stock": MAX_STOCK + 1}, "stock"),
    ],
)
def test_values_beyond_the_domain_bounds_are_refused_by_field(
    change: dict[str, object], field: str
) -> None:
    with pytest.raises(OutOfBounds) as refused:
        dataclasses.replace(ENTRY, **change).checked()  # type: ignore[arg-type]
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"sku": " MUG"}, InvalidProduct),
        ({"name": "  "}, InvalidProduct),
        ({"unit_amount": -1}, InvalidProduct),
        ({"currency": "XYZ"}, UnknownCurrency),
        ({"stock": -1}, InvalidQuantity),
    ],
)
def test_values_the_domain_refuses_are_refused(
    change: dict[str, object], error: type[DomainError]
) -> None:
    with pytest.raises(error):
        dataclasses.replace(ENTRY, **change).checked()  # type: ignore[arg-type]


def test_what_the_check_passes_the_catalog_loads(catalog: Catalog) -> None:
    """The check is the catalog's own: a checked entry for a new sku is accepted."""
    entry = CatalogEntry("S" * MAX_SKU, "N" * MAX_NAME, "v" * MAX_VENDOR_ID, MAX_TOTAL, "eur", 0)

    loaded = catalog.upsert([entry.checked()])

    assert loaded.created == 1
