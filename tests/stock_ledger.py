"""Which orders hold a sku's units, read from its events: the Stock aggregate only counts
(adr/0021), so tests that must name the orders replay the stream as an auditor would."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain import Stock


def held_by_order(app: Application[UUID], sku: str) -> dict[str, int]:
    """Order id -> units still reserved for it (reserved, neither released nor sold)."""
    held: dict[str, int] = {}
    event: Any
    for event in app.repository.event_store.get(Stock.id_for(sku)):
        if isinstance(event, Stock.Reserved):
            held[event.order_id] = held.get(event.order_id, 0) + event.quantity
        elif isinstance(event, Stock.Released | Stock.Committed):
            held.pop(event.order_id, None)
    return held
