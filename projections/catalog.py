"""The catalog view: one row per sku with its price and the units still available,
serving GET /products. Product and Stock events only name their aggregate id after the
first event, so rows are also found by product id and stock id.

Named "catalog" (module, class, projection name); its table is still ``product_view``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from domain import Product, Stock
from projections import schema
from projections.projection import BatchedView, Handler
from projections.rows import Row, RowStore


def _sku_row(rows: RowStore, sku: str) -> Row:
    row = rows.get(sku)
    return rows.add(sku=sku) if row is None else row


def _registered(rows: RowStore, event: Product.Registered) -> None:
    rows.touch(
        _sku_row(rows, event.sku),
        event,
        product_id=event.originator_id,
        name=event.name,
        vendor_id=event.vendor_id,
        unit_amount=event.unit_amount,
        currency=event.currency,
        active=True,
    )


def _product(**fixed: Any) -> Handler:
    def handle(rows: RowStore, event: Any) -> None:
        row = rows.find("product_id", event.originator_id)
        if row is not None:
            fields = ("name", "vendor_id", "unit_amount", "currency")
            values = {f: getattr(event, f) for f in fields if hasattr(event, f)}
            rows.touch(row, event, **values, **fixed)

    return handle


def _stock_created(rows: RowStore, event: Stock.Created) -> None:
    row = _sku_row(rows, event.sku)
    rows.touch(row, event, stock_id=event.originator_id, on_hand=event.on_hand)


def _stock(change: Callable[[Row, Any], dict[str, Any]]) -> Handler:
    def handle(rows: RowStore, event: Any) -> None:
        row = rows.find("stock_id", event.originator_id)
        if row is not None:
            rows.touch(row, event, **change(row, event))

    return handle


def _without(row: Row, order_id: str) -> dict[str, int]:
    return {k: v for k, v in row["reservations"].items() if k != order_id}


class CatalogView(BatchedView):
    name: ClassVar[str] = "catalog"
    found_by: ClassVar[tuple[str, ...]] = ("product_id", "stock_id")
    defaults: ClassVar[Mapping[str, Any]] = {"active": False, "on_hand": 0, "reservations": {}}
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
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
