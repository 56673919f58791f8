"""`audit order` latency on the topped-up log (adr/0015): an order's whole history, with its
state at an instant, for orders drawn at random from the whole log.

After the rebuild phase the log holds what the load phases wrote plus the top-up, and the
stock streams are long (every order of a sku reserves and commits on its one stream). The
stopped projector indexed only the load phases' stock movements, so the index is first
caught up here (its rate is reported too). Then each sampled order's history is built
exactly as `checkout-engine audit order ID --at T` builds it: its streams and its indexed
stock events by key, never the log, so the time should not grow with the log or the stock
streams.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from bench.stats import rate, summarise_ms
from entrypoints.bootstrap import Container
from projections.schema import order_stock_movements
from projections.stock_movements import StockMovements
from projections.tracking import position

SAMPLES = 200


def sample_orders(container: Container, count: int) -> list[UUID]:
    """Orders drawn at random from the index (setup, not measured)."""
    m = order_stock_movements.c
    query = sa.select(m.order_id).group_by(m.order_id).order_by(sa.func.random()).limit(count)
    with container.db.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def longest_stock_stream(container: Container) -> int:
    m = order_stock_movements.c
    with container.db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(m.originator_version))).scalar() or 0)


def measure_audit_order(
    container: Container,
    samples: int = SAMPLES,
    progress: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Catch the stock index up, then time sampled histories; the caller closes it."""
    container.upgrade_database()
    head = container.app.head_position()
    indexed = position(container.db, StockMovements.name)
    progress(f"audit order: indexing stock movements up to {head:,}")
    started = time.perf_counter()
    container.follower_runner(StockMovements(), batch_size=2000).catch_up()
    index_seconds = time.perf_counter() - started
    orders = sample_orders(container, samples)
    histories = container.order_histories
    at = datetime.now(UTC)
    if orders:
        histories.history(orders[0], at)  # warm the pools and the mapper
    progress(f"audit order: {len(orders)} histories with their state at an instant")
    timings = []
    entries = 0
    for order_id in orders:
        begun = time.perf_counter()
        history = histories.history(order_id, at)
        timings.append(time.perf_counter() - begun)
        entries += len(history.entries)
    return {
        "order_ms": summarise_ms(timings),
        "orders": len(orders),
        "entries_per_order": round(entries / max(len(orders), 1), 1),
        "log_events": head,
        "longest_stock_stream": longest_stock_stream(container),
        "index_catch_up": {
            "seconds": round(index_seconds, 2),
            "events": head - indexed,
            "events_per_s": rate(head - indexed, index_seconds),
        },
    }
