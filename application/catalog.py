"""Catalog upserts: products and their stock, all in one transaction.

Stock is a count of units that sell, so an upsert never sets it absolutely: a file loaded
again after sales would put sold units back on sale (adr/0013). A new sku starts with the
entry's stock; an existing sku's stock changes only when asked, per ``StockMode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from application.application import CheckoutApplication
from application.contention import with_retries
from domain import Product, Stock, UnknownProduct, actors
from domain.catalog import validate_product, validate_sku
from domain.stock import validate_units


@dataclass(frozen=True)
class CatalogEntry:
    """One product and its stock, as an upload or the catalog file gives it."""

    sku: str
    name: str
    vendor_id: str
    unit_amount: int
    currency: str
    stock: int
    active: bool = True

    def checked(self) -> CatalogEntry:
        """The entry with its currency normalised, or the DomainError that the catalog
        would refuse it with (an OutOfBounds names the field): the domain's own rules and
        bounds (domain/bounds.py), for a caller that wants them before loading anything."""
        validate_sku(self.sku)
        currency = validate_product(self.name, self.vendor_id, self.unit_amount, self.currency)
        validate_units(self.stock, self.sku)
        return replace(self, currency=currency)


class StockMode(StrEnum):
    """What an entry's ``stock`` means for a sku that exists already."""

    INITIAL = "initial"  # only the stock a new sku starts with: existing skus keep theirs
    RESTOCK = "restock"  # units delivered: added to what is on hand
    AVAILABLE = "available"  # units to offer on top of what is reserved (sold units are gone)


@dataclass(frozen=True)
class StockChanged:
    sku: str
    on_hand: int
    available: int
    position: int


@dataclass(frozen=True)
class CatalogLoaded:
    created: int
    updated: int
    unchanged: int
    position: int


class Catalog:
    def __init__(self, app: CheckoutApplication) -> None:
        self.app = app

    def upsert(
        self,
        entries: Sequence[CatalogEntry],
        stock_mode: StockMode = StockMode.INITIAL,
        actor: str = actors.UNKNOWN,
    ) -> CatalogLoaded:
        """Create or update every entry, or (on any invalid entry) nothing at all.

        ``actor``: ``admin:<sub>`` from the admin API, ``cli:<login>`` from the CLI.
        """
        skus = [entry.sku for entry in entries]
        if len(set(skus)) != len(skus):
            raise ValueError("a sku appears more than once in the catalog file")
        return with_retries(lambda: self._upsert(entries, stock_mode, actor))

    def change_stock(
        self,
        sku: str,
        *,
        delta: int | None = None,
        available: int | None = None,
        actor: str = actors.UNKNOWN,
    ) -> StockChanged:
        """Add ``delta`` units, or make ``available`` units sellable; raises UnknownProduct."""
        if (delta is None) == (available is None):
            raise ValueError("give either delta or available")

        def attempt() -> StockChanged:
            try:
                stock = self.app.load(Stock, Stock.id_for(sku))
            except AggregateNotFoundError:
                raise UnknownProduct([sku]) from None
            if delta is not None:
                stock.restock(delta, actor)
            else:
                assert available is not None
                stock.set_available(available, actor)
            recordings = self.app.save(stock)
            position = recordings[-1].notification.id if recordings else self.app.head_position()
            return StockChanged(sku, stock.on_hand, stock.available, position)

        return with_retries(attempt)

    def _upsert(
        self, entries: Sequence[CatalogEntry], stock_mode: StockMode, actor: str
    ) -> CatalogLoaded:
        changed: list[Aggregate] = []
        created = updated = 0
        for entry in entries:
            product, is_new, product_changed = self._product(entry, actor)
            stock, stock_changed = self._stock(entry, stock_mode, actor)
            created += is_new
            updated += (product_changed or stock_changed) and not is_new
            changed += [a for a, c in ((product, product_changed), (stock, stock_changed)) if c]
        position = self.app.head_position()
        if changed:
            position = self.app.save(*changed)[-1].notification.id
        return CatalogLoaded(created, updated, len(entries) - created - updated, position)

    def _product(self, entry: CatalogEntry, actor: str) -> tuple[Product, bool, bool]:
        try:
            product = self.app.load(Product, Product.id_for(entry.sku))
        except AggregateNotFoundError:
            product = Product.register(
                entry.sku, entry.name, entry.vendor_id, entry.unit_amount, entry.currency, actor
            )
            if not entry.active:
                product.deactivate(actor)
            return product, True, True
        changed = product.update(
            name=entry.name,
            vendor_id=entry.vendor_id,
            unit_amount=entry.unit_amount,
            currency=entry.currency,
            actor=actor,
        )
        toggled = product.reactivate(actor) if entry.active else product.deactivate(actor)
        return product, False, changed or toggled

    def _stock(self, entry: CatalogEntry, mode: StockMode, actor: str) -> tuple[Stock, bool]:
        try:
            stock = self.app.load(Stock, Stock.id_for(entry.sku))
        except AggregateNotFoundError:
            return Stock.create(entry.sku, entry.stock, actor), True
        if mode is StockMode.RESTOCK and entry.stock > 0:
            stock.restock(entry.stock, actor)
            return stock, True
        if mode is StockMode.AVAILABLE:
            return stock, stock.set_available(entry.stock, actor)
        return stock, False
