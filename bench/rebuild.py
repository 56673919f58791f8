"""Rebuild throughput: the payment status view replayed from the first event.

The log holds what the load phases wrote; when that is short of the target, it is topped
up with complete, paid checkout histories made from the domain model (order placed,
payment initiated, stock reserved, provider order created, payment succeeded, order
confirmed, stock committed), saved in batches of whole orders per transaction (fast; no
API or provider round-trips). The roles are stopped by then, so nothing follows the log
while it grows. Then `projections.rebuild.rebuild` replays the whole log into shadow
tables and swaps them in, exactly as `checkout-engine projections rebuild payments` does.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from domain import Order, OrderLine, Payment, Product, Stock
from entrypoints.bootstrap import Container
from projections import PaymentsView
from projections.rebuild import rebuild

# Larger saves (200 orders, about 1,600 events with their actors) stalled inside psycopg's
# pipeline, the client waiting on Pipeline.sync and the server on the INSERT's data (as in
# psycopg issue 685): the engine's own saves are one checkout, at most about 100 events.
ORDERS_PER_TRANSACTION = 20
EVENTS_TABLE = f"{CheckoutApplication.name}_events"


def _paid_checkout(
    rng: random.Random, number: int, products: list[Product], stocks: dict[str, Stock]
) -> list[Any]:
    """One order's whole happy path; returns the aggregates it created or changed."""
    picked = rng.sample(products, k=rng.choice((1, 1, 2)))
    lines = [OrderLine(p.sku, rng.choice((1, 2)), p.unit_amount, p.vendor_id) for p in picked]
    order_id = uuid.uuid4()
    payment_id = Payment.id_for(order_id)
    provider = "stripe" if number % 2 else "razorpay"
    order = Order.place(
        order_id=order_id,
        customer_id=f"rebuild-{number}",
        lines=lines,
        currency="USD",
        payment_id=payment_id,
        provider=provider,
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    payment = Payment.initiate(order_id, provider, order.amount, "USD")
    for line in lines:
        stocks[line.sku].reserve(order_id, line.quantity)
    gateway_order = f"gw_order_{number}"
    gateway_payment = f"gw_pay_{number}"
    payment.record_provider_order(gateway_order, gateway_payment, f"secret_{number}", None)
    payment.record_capture(gateway_payment, payment.amount, payment.currency, f"evt_{number}")
    order.confirm_payment(payment_id, gateway_payment, provider)
    for line in lines:
        stocks[line.sku].commit(order_id, line.quantity)
    return [order, payment]


def events_in_log(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {EVENTS_TABLE}")).scalar_one())


def top_up(
    app: CheckoutApplication,
    db: Engine,
    skus: list[str],
    target_events: int,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Add paid checkout histories until the log holds at least `target_events` events."""
    started = time.perf_counter()
    count = first_count = events_in_log(db)
    rng = random.Random(6)
    products = [app.load(Product, Product.id_for(sku)) for sku in skus]
    stocks = {sku: app.load(Stock, Stock.id_for(sku)) for sku in skus}
    number = 0
    while count < target_events:
        batch: list[Any] = []
        for _ in range(ORDERS_PER_TRANSACTION):
            number += 1
            batch.extend(_paid_checkout(rng, number, products, stocks))
        touched = [s for s in stocks.values() if s.pending_events]
        count += len(app.save(*batch, *touched))
        if progress is not None:
            progress(count, target_events)
    seconds = time.perf_counter() - started
    return {
        "events_before": first_count,
        "events_added": count - first_count,
        "orders_added": number,
        "seconds": round(seconds, 2),
    }


def measure_rebuild(
    container: Container,
    skus: list[str],
    target_events: int,
    progress: Callable[[str], None] = lambda _message: None,
) -> dict[str, Any]:
    """Top the log up through the container's Application, then rebuild on its database
    (the caller closes the container)."""
    container.upgrade_database()
    app, db = container.app, container.db
    shown = [-1]

    def report(done: int, total: int) -> None:
        tenth = min(10, done * 10 // max(total, 1))
        if tenth > shown[0]:
            shown[0] = tenth
            progress(f"log {done}/{total} events")

    filled = top_up(app, db, skus, target_events, report)
    progress("rebuilding the payment status view from the first event")
    result = rebuild(app, db, PaymentsView())
    return {
        "events": result.events,
        "events_applied": result.applied,
        "seconds": round(result.seconds, 2),
        "events_per_s": round(result.events_per_s, 1),
        "projection": PaymentsView.name,
        "log_top_up": filled,
    }
