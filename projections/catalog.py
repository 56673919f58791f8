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


def _reserved(row: Row, event: Stock.Reserved) -> dict[str, Any]:
    change: dict[str, Any] = {"reserved": row["reserved"] + event.quantity}
    if event.legacy:  # its v2 release or sale will not say how many units it frees
        legacy = row["legacy_reservations"]
        change["legacy_reservations"] = {**legacy, event.order_id: event.quantity}
    return change


def _settled(row: Row, event: Stock.Released | Stock.Committed) -> tuple[int, dict[str, Any]]:
    """The units an order's release or sale frees, and the row's new counts (adr/0021)."""
    legacy: dict[str, int] = row["legacy_reservations"]
    units = event.quantity if event.quantity is not None else legacy.get(event.order_id, 0)
    change: dict[str, Any] = {"reserved": row["reserved"] - units}
    if event.order_id in legacy:
        change["legacy_reservations"] = {k: v for k, v in legacy.items() if k != event.order_id}
    return units, change


def _released(row: Row, event: Stock.Released) -> dict[str, Any]:
    return _settled(row, event)[1]


def _committed(row: Row, event: Stock.Committed) -> dict[str, Any]:
    units, change = _settled(row, event)
    return {**change, "on_hand": row["on_hand"] - units}


class CatalogView(BatchedView):
    name: ClassVar[str] = "catalog"
    found_by: ClassVar[tuple[str, ...]] = ("product_id", "stock_id")
    defaults: ClassVar[Mapping[str, Any]] = {
        "active": False,
        "on_hand": 0,
        "reserved": 0,
        "legacy_reservations": {},
    }
    handlers: ClassVar[Mapping[type[Any], Handler]] = {
        Product.Registered: _registered,
        Product.Updated: _product(),
        Product.Deactivated: _product(active=False),
        Product.Reactivated: _product(active=True),
        Stock.Created: _stock_created,
        Stock.Restocked: _stock(lambda row, e: {"on_hand": row["on_hand"] + e.quantity}),
        Stock.OnHandSet: _stock(lambda row, e: {"on_hand": e.on_hand}),
        Stock.Reserved: _stock(_reserved),
        Stock.Released: _stock(_released),
        Stock.Committed: _stock(_committed),
    }

    def __init__(self, table: sa.Table = schema.product_view) -> None:
        super().__init__(table)
