"""The catalog view: one row per sku with its price and the units still available,
serving GET /products. Product and Stock events only name their aggregate id after the
first event, so rows are also found by product id and stock id."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from domain import Product, Stock
from projections import schema
from projections.projection import DomainEvent, Projection, Row, later


class CatalogRows:
    """The rows a batch touches, found by sku, product id or stock id."""

    def __init__(self, table: sa.Table) -> None:
        self._table = table
        self._by_sku: dict[str, Row] = {}
        self._by_id: dict[UUID, Row] = {}
        self._dirty: dict[str, Row] = {}

    def load(self, conn: Connection, ids: set[UUID]) -> None:
        c = self._table.c
        query = sa.select(self._table).where(sa.or_(c.product_id.in_(ids), c.stock_id.in_(ids)))
        for row in conn.execute(query).mappings():
            self._remember(dict(row))

    def for_sku(self, sku: str) -> Row:
        row = self._by_sku.get(sku)
        if row is None:
            row = {column.name: None for column in self._table.columns}
            row.update(sku=sku, active=False, on_hand=0, reservations={})
            self._remember(row)
        return row

    def for_id(self, aggregate_id: UUID) -> Row | None:
        return self._by_id.get(aggregate_id)

    def change(self, row: Row, event: Any, **values: Any) -> None:
        row.update(values, updated_at=later(row["updated_at"], event.timestamp))
        self._remember(row)
        self._dirty[row["sku"]] = row

    def _remember(self, row: Row) -> None:
        self._by_sku[row["sku"]] = row
        for key in ("product_id", "stock_id"):
            if row[key] is not None:
                self._by_id[row[key]] = row

    def flush(self, conn: Connection) -> None:
        if not self._dirty:
            return
        statement = insert(self._table)
        statement = statement.on_conflict_do_update(
            index_elements=[self._table.c.sku],
            set_={
                c.name: statement.excluded[c.name] for c in self._table.columns if c.name != "sku"
            },
        )
        conn.execute(statement, list(self._dirty.values()))
        self._dirty.clear()


CatalogHandler = Callable[[CatalogRows, Any], None]


def _registered(rows: CatalogRows, event: Product.Registered) -> None:
    row = rows.for_sku(event.sku)
    rows.change(
        row,
        event,
        product_id=event.originator_id,
        name=event.name,
        vendor_id=event.vendor_id,
        unit_amount=event.unit_amount,
        currency=event.currency,
        active=True,
    )


def _product(**fixed: Any) -> CatalogHandler:
    def handle(rows: CatalogRows, event: Any) -> None:
        row = rows.for_id(event.originator_id)
        if row is not None:
            fields = ("name", "vendor_id", "unit_amount", "currency")
            values = {f: getattr(event, f) for f in fields if hasattr(event, f)}
            rows.change(row, event, **values, **fixed)

    return handle


def _stock_created(rows: CatalogRows, event: Stock.Created) -> None:
    rows.change(rows.for_sku(event.sku), event, stock_id=event.originator_id, on_hand=event.on_hand)


def _stock(change: Callable[[Row, Any], dict[str, Any]]) -> CatalogHandler:
    def handle(rows: CatalogRows, event: Any) -> None:
        row = rows.for_id(event.originator_id)
        if row is not None:
            rows.change(row, event, **change(row, event))

    return handle


def _without(row: Row, order_id: str) -> dict[str, int]:
    return {k: v for k, v in row["reservations"].items() if k != order_id}


class CatalogView(Projection):
    name: ClassVar[str] = "catalog"
    handlers: ClassVar[Mapping[type[Any], Any]] = {
        Product.Registered: _registered,
        Product.Updated: _product(),
        Product.Deactivated: _product(active=False),
        Product.Reactivated: _product(active=True),
        Stock.Created: _stock_created,
        Stock.Restocked: _stock(lambda row, e: {"on_hand": row["on_hand"] + e.quantity}),
        Stock.OnHandSet: _stock(lambda row, e: {"on_hand": e.on_hand}),
        Stock.Reserved: _stock(
            lambda row, e: {"reservations": {**row["reservations"], e.order_id: e.quantity}}
        ),
        Stock.Released: _stock(lambda row, e: {"reservations": _without(row, e.order_id)}),
        Stock.Committed: _stock(
            lambda row, e: {
                "on_hand": row["on_hand"] - row["reservations"].get(e.order_id, 0),
                "reservations": _without(row, e.order_id),
            }
        ),
    }

    def __init__(self, table: sa.Table = schema.product_view) -> None:
        super().__init__(table)

    def apply_batch(self, conn: Connection, domain_events: Sequence[DomainEvent]) -> None:
        relevant = [event for event in domain_events if type(event) in self.handlers]
        if not relevant:
            return
        rows = CatalogRows(self.table)
        rows.load(conn, {event.originator_id for event in relevant})
        for event in relevant:
            self.handlers[type(event)](rows, event)
        rows.flush(conn)
