"""Catalog upserts: products and their stock, all in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.contention import with_retries
from application.engine import CheckoutEngine
from domain import Product, Stock


@dataclass(frozen=True)
class CatalogEntry:
    sku: str
    name: str
    vendor_id: str
    unit_amount: int
    currency: str
    stock: int
    active: bool = True


@dataclass(frozen=True)
class CatalogLoaded:
    created: int
    updated: int
    unchanged: int
    position: int


class Catalog:
    def __init__(self, app: CheckoutEngine) -> None:
        self.app = app

    def upsert(self, entries: Sequence[CatalogEntry]) -> CatalogLoaded:
        """Create or update every entry, or (on any invalid entry) nothing at all."""
        skus = [entry.sku for entry in entries]
        if len(set(skus)) != len(skus):
            raise ValueError("a sku appears more than once in the catalog file")
        return with_retries(lambda: self._upsert(entries))

    def _upsert(self, entries: Sequence[CatalogEntry]) -> CatalogLoaded:
        changed: list[Aggregate] = []
        created = updated = 0
        for entry in entries:
            product, is_new, product_changed = self._product(entry)
            stock, stock_changed = self._stock(entry)
            created += is_new
            updated += (product_changed or stock_changed) and not is_new
            changed += [a for a, c in ((product, product_changed), (stock, stock_changed)) if c]
        position = self.app.head_position()
        if changed:
            position = self.app.save(*changed)[-1].notification.id
        return CatalogLoaded(created, updated, len(entries) - created - updated, position)

    def _product(self, entry: CatalogEntry) -> tuple[Product, bool, bool]:
        try:
            product = self.app.load(Product, Product.id_for(entry.sku))
        except AggregateNotFoundError:
            product = Product.register(
                entry.sku, entry.name, entry.vendor_id, entry.unit_amount, entry.currency
            )
            if not entry.active:
                product.deactivate()
            return product, True, True
        changed = product.update(
            name=entry.name,
            vendor_id=entry.vendor_id,
            unit_amount=entry.unit_amount,
            currency=entry.currency,
        )
        toggled = product.reactivate() if entry.active else product.deactivate()
        return product, False, changed or toggled

    def _stock(self, entry: CatalogEntry) -> tuple[Stock, bool]:
        try:
            stock = self.app.load(Stock, Stock.id_for(entry.sku))
        except AggregateNotFoundError:
            return Stock.create(entry.sku, entry.stock), True
        return stock, stock.set_on_hand(entry.stock)
