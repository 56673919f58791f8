"""Stock per sku: the log's stock events replayed in order, against the units the scenario
loaded (external truth), the orders' own lines, and the catalog view's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain import OrderStatus, Stock
from projections.schema import product_view
from tests.chaos.evidence_log import LogFacts, Logged
from tests.chaos.evidence_model import Findings

ENDED_UNSOLD = frozenset({OrderStatus.CANCELLED})


@dataclass
class SkuHistory:
    """One sku as its events left it, and what each order did with its units."""

    sku: str
    on_hand: int = 0
    expected_on_hand: int | None = None  # from the scenario's count, restocks and sales
    # The checker keeps its own per-order books: the aggregate and the view only count.
    reservations: dict[str, int] = field(default_factory=dict)  # order -> units still held
    reserved_for: dict[str, int] = field(default_factory=dict)  # order -> units ever reserved
    committed_for: dict[str, int] = field(default_factory=dict)  # order -> units sold
    released: set[str] = field(default_factory=set)
    # What the stock's own counts say is held: the events' quantities added up. It parts
    # from the books above only if a release or sale moved other units than were reserved.
    reserved_units: int = 0

    @property
    def reserved(self) -> int:
        return self.reserved_units


def check_stock(
    facts: LogFacts, initial: Mapping[str, int], conn: Connection, findings: Findings
) -> None:
    by_sku = replay_stock(facts, initial, findings)
    findings.count("skus", len(by_sku))
    for sku, units in initial.items():
        history = by_sku.get(sku)
        if history is None:
            findings.add("stock.conservation", sku, f"loaded with {units}, no stock in the log")
        elif history.expected_on_hand != history.on_hand:
            findings.add(
                "stock.conservation",
                sku,
                f"on hand {history.on_hand}, but {units} loaded less {_sold(history)} sold "
                f"makes {history.expected_on_hand}",
            )
    _check_orders(facts, by_sku, findings)
    _check_view(by_sku, conn, findings)


def replay_stock(
    facts: LogFacts, initial: Mapping[str, int], findings: Findings
) -> dict[str, SkuHistory]:
    """Each sku's history from its events in log order, with what breaks on the way."""
    histories: dict[UUID, SkuHistory] = {}
    for logged in facts.of_type(Stock.Event):
        _replay(histories, logged, initial, findings)
    return {history.sku: history for history in histories.values()}


def _sold(history: SkuHistory) -> int:
    return sum(history.committed_for.values())


def _replay(
    histories: dict[UUID, SkuHistory],
    logged: Logged,
    initial: Mapping[str, int],
    findings: Findings,
) -> None:
    event: Any = logged.event
    if isinstance(event, Stock.Created):
        loaded = initial.get(event.sku)
        histories[event.originator_id] = SkuHistory(event.sku, event.on_hand, loaded)
        if loaded is not None and loaded != event.on_hand:
            findings.add(
                "stock.conservation", event.sku, f"created with {event.on_hand}, loaded {loaded}"
            )
        return
    history = histories.get(event.originator_id)
    if history is None:
        findings.add("log.inconsistent", event.originator_id, f"stock event at {logged.position}")
        return
    _apply(history, event, logged.position, findings)
    if history.on_hand < 0 or history.reserved > history.on_hand or history.reserved < 0:
        findings.add(
            "stock.negative",
            history.sku,
            f"after {logged.position}: on hand {history.on_hand}, reserved {history.reserved}",
        )


def _apply(history: SkuHistory, event: Any, position: int, findings: Findings) -> None:
    def expect(delta: int) -> None:
        if history.expected_on_hand is not None:
            history.expected_on_hand += delta

    if isinstance(event, Stock.Restocked):
        history.on_hand += event.quantity
        expect(event.quantity)
    elif isinstance(event, Stock.OnHandSet):
        # An operator's count is the new truth from here on (the scenario's own loads).
        expect(event.on_hand - history.on_hand)
        history.on_hand = event.on_hand
    elif isinstance(event, Stock.Reserved):
        order = event.order_id
        if order in history.reserved_for:
            findings.add("stock.double_reservation", history.sku, f"order {order} at {position}")
        history.reserved_for[order] = history.reserved_for.get(order, 0) + event.quantity
        history.reservations[order] = event.quantity
        history.reserved_units += event.quantity
    elif isinstance(event, Stock.Released | Stock.Committed):
        order = event.order_id
        held = history.reservations.pop(order, None)
        settled = order in history.released or order in history.committed_for
        if held is None or settled:
            findings.add(
                "stock.double_settle",
                history.sku,
                f"order {order} at {position}: {type(event).__name__} "
                + ("again" if settled else "without a reservation"),
            )
        # v3 events say how many units they move (the aggregate only counts, adr/0021);
        # a v2 one, upcast with None, moved what its order's reservation held.
        units = (held or 0) if event.quantity is None else event.quantity
        if held is not None and units != held:
            findings.add(
                "stock.settle_mismatch",
                history.sku,
                f"order {order} at {position}: {type(event).__name__} of {units}, {held} reserved",
            )
        if isinstance(event, Stock.Committed):
            history.on_hand -= units
            history.committed_for[order] = history.committed_for.get(order, 0) + units
            expect(-units)
        else:
            history.released.add(order)
        history.reserved_units -= units


def _check_orders(facts: LogFacts, by_sku: dict[str, SkuHistory], findings: Findings) -> None:
    """A paid order sold its lines; a cancelled one gave them back; an open one holds them."""
    for order_id, order in facts.orders.items():
        key = str(order_id)
        paid = order_id in facts.confirmations
        for sku, quantity in order.quantities.items():
            history = by_sku.get(sku)
            if history is None:
                findings.add("stock.order_mismatch", order_id, f"{sku}: no stock in the log")
                continue
            reserved = history.reserved_for.get(key, 0)
            sold = history.committed_for.get(key, 0)
            held = history.reservations.get(key, 0)
            if reserved != quantity:
                findings.add(
                    "stock.order_mismatch", order_id, f"{sku}: {reserved} reserved of {quantity}"
                )
            if paid and sold != quantity:
                findings.add("stock.order_mismatch", order_id, f"{sku}: {sold} sold of {quantity}")
            if not paid and sold:
                findings.add("stock.order_mismatch", order_id, f"{sku}: {sold} sold, never paid")
            if held and (paid or order.status in ENDED_UNSOLD):
                findings.add("stock.leak", order_id, f"{sku}: {held} still held, {order.status}")


def _check_view(by_sku: dict[str, SkuHistory], conn: Connection, findings: Findings) -> None:
    """The catalog's numbers (product_view) are the log's."""
    c = product_view.c
    rows = conn.execute(sa.select(c.sku, c.on_hand, c.reserved)).mappings().all()
    seen = {row["sku"]: row for row in rows}
    for sku, history in by_sku.items():
        row = seen.get(sku)
        if row is None:
            findings.add("stock.view", sku, "no catalog row")
            continue
        reserved = int(row["reserved"])
        if (row["on_hand"], reserved) != (history.on_hand, history.reserved):
            findings.add(
                "stock.view",
                sku,
                f"catalog on hand {row['on_hand']} reserved {reserved} (available "
                f"{row['on_hand'] - reserved}); the log: {history.on_hand} / {history.reserved} "
                f"({history.on_hand - history.reserved})",
            )
