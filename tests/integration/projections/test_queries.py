"""The admin listing's keyset pagination and the reaper's expiry query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from application.application import CheckoutApplication
from projections import ALL_PROJECTIONS
from projections.queries import InvalidCursor, OrderQueries, OrderSearch
from projections.runner import ProjectionRunner
from projections.schema import order_view, payment_status_view
from tests.integration.projections.histories import Histories, expired_by

SAME_MOMENT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def project(app: CheckoutApplication, db: Engine) -> None:
    for projection in ALL_PROJECTIONS:
        ProjectionRunner(app, db, projection).catch_up()


def add_rows_created_at_the_same_moment(db: Engine, count: int) -> list[UUID]:
    """Ties on created_at: only the order id breaks them."""
    ids = [uuid4() for _ in range(count)]
    rows = [
        {
            "order_id": order_id, "customer_id": "tied", "status": "CANCELLED", "amount": 1,
            "currency": "USD", "lines": [], "payment_id": uuid4(), "provider": "stripe",
            "payment_status": "processing", "refunded_amount": 0, "created_at": SAME_MOMENT,
            "updated_at": SAME_MOMENT, "expires_at": SAME_MOMENT,
            "payment_refunds_pending": {}, "payment_refunded_amount": 0,
        }
        for order_id in ids
    ]  # fmt: skip
    with db.begin() as conn:
        conn.execute(sa.insert(order_view), rows)
    return ids


def walk(queries: OrderQueries, status: str | None, limit: int) -> list[dict[str, Any]]:
    items, cursor = queries.list(status, limit, None)
    pages = 1
    while cursor is not None:
        page, cursor = queries.list(status, limit, cursor)
        assert page, "a cursor is only handed out when another page exists"
        items += page
        pages += 1
    assert pages == max(1, -(-len(items) // limit))
    return items


def test_keyset_pages_cover_every_order_once_newest_first(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    placed = [histories.place(customer_id=f"customer-{n}")[0] for n in range(11)]
    for order in placed[::3]:
        histories.cancel(order)
    project(app, db)
    tied = add_rows_created_at_the_same_moment(db, 5)
    queries = OrderQueries(db)

    for limit in (1, 4, 16, 100):
        items = walk(queries, None, limit)
        ids = [item["orderId"] for item in items]
        assert sorted(ids) == sorted(str(i) for i in [o.id for o in placed] + tied)
        keys = [(item["createdAt"], item["orderId"]) for item in items]
        assert keys == sorted(keys, reverse=True)

    cancelled = walk(queries, "CANCELLED", 2)
    assert {item["orderId"] for item in cancelled} == {
        str(i) for i in [o.id for o in placed[::3]] + tied
    }
    assert all(item["status"] == "CANCELLED" for item in cancelled)
    assert {item["customerId"] for item in cancelled} >= {"tied", "customer-0"}
    assert walk(queries, "REFUNDED", 3) == []


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90IGpzb24", "WyJ4IiwgInkiXQ"])
def test_a_forged_cursor_is_rejected(db: Engine, cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        OrderQueries(db).list(None, 10, cursor)


def test_expired_orders_are_the_unpaid_ones_past_their_expiry(
    histories: Histories, app: CheckoutApplication, db: Engine
) -> None:
    overdue, _ = histories.place(expires_at=expired_by(timedelta(minutes=5)))
    older, _ = histories.place(expires_at=expired_by(timedelta(hours=1)))
    cancelled, _ = histories.place(expires_at=expired_by(timedelta(hours=2)))
    histories.cancel(cancelled)
    paid, payment = histories.place(expires_at=expired_by(timedelta(hours=3)))
    histories.open_provider_order(payment)
    histories.pay(paid, payment)
    histories.place()  # not due until 2030
    project(app, db)

    now = datetime.now(UTC)
    assert OrderQueries(db).expired_orders(now, limit=10) == [older.id, overdue.id]
    assert OrderQueries(db).expired_orders(now, limit=1) == [older.id]
    assert OrderQueries(db).expired_orders(now - timedelta(days=1), limit=10) == []


def add_searchable_rows(db: Engine, count: int) -> list[dict[str, Any]]:
    """Orders an hour apart (some tied), alternating providers and statuses, each with a
    payment row naming its provider's ids."""
    orders, payments = [], []
    for n in range(count):
        created = SAME_MOMENT + timedelta(hours=n // 2)  # pairs tie on created_at
        order_id, payment_id = uuid4(), uuid4()
        provider = "stripe" if n % 2 else "razorpay"
        status = "CANCELLED" if n % 3 == 0 else "PAYMENT_CONFIRMED"
        orders.append(
            {
                "order_id": order_id,
                "customer_id": f"searcher-{n % 4}",
                "status": status,
                "amount": 100 + n,
                "currency": "USD",
                "lines": [],
                "payment_id": payment_id,
                "provider": provider,
                "payment_status": "succeeded",
                "refunded_amount": 0,
                "created_at": created,
                "updated_at": created,
                "expires_at": created,
                "payment_refunds_pending": {},
                "payment_refunded_amount": 0,
            }
        )
        payments.append(
            {
                "order_id": order_id,
                "payment_id": payment_id,
                "customer_id": f"searcher-{n % 4}",
                "status": "succeeded",
                "provider": provider,
                "amount": 100 + n,
                "currency": "USD",
                "gateway_order_id": f"order_{n}",
                "gateway_payment_id": f"pay_{n}",
                "refunded_amount": 0,
                "updated_at": created,
                "refunds_pending": {},
            }
        )
    with db.begin() as conn:
        conn.execute(sa.insert(order_view), orders)
        conn.execute(sa.insert(payment_status_view), payments)
    return orders


def search_all(queries: OrderQueries, criteria: OrderSearch, limit: int) -> list[str]:
    items, cursor = queries.search(criteria, limit)
    while cursor is not None:
        page, cursor = queries.search(criteria, limit, cursor)
        assert page, "a cursor is only handed out when another page exists"
        items += page
    return [item["orderId"] for item in items]


def newest_first(rows: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(rows, key=lambda r: (r["created_at"], r["order_id"]), reverse=True)
    return [str(row["order_id"]) for row in ordered]


@pytest.mark.parametrize("limit", [1, 3, 50])
def test_a_search_pages_through_exactly_the_matching_orders(db: Engine, limit: int) -> None:
    rows = add_searchable_rows(db, 14)
    queries = OrderQueries(db)
    start, end = SAME_MOMENT + timedelta(hours=1), SAME_MOMENT + timedelta(hours=5)
    searches = {
        OrderSearch(): rows,
        OrderSearch(status="CANCELLED"): [r for r in rows if r["status"] == "CANCELLED"],
        OrderSearch(provider="stripe"): [r for r in rows if r["provider"] == "stripe"],
        OrderSearch(customer_id="searcher-1"): [
            r for r in rows if r["customer_id"] == "searcher-1"
        ],
        OrderSearch(created_from=start, created_to=end): [
            r for r in rows if start <= r["created_at"] < end
        ],
        OrderSearch(provider="razorpay", status="PAYMENT_CONFIRMED", created_from=start): [
            r
            for r in rows
            if r["provider"] == "razorpay"
            and r["status"] == "PAYMENT_CONFIRMED"
            and r["created_at"] >= start
        ],
        OrderSearch(order_id=rows[5]["order_id"]): [rows[5]],
        OrderSearch(order_id=rows[5]["order_id"], status="CANCELLED"): [],
    }
    for criteria, expected in searches.items():
        assert search_all(queries, criteria, limit) == newest_first(expected), criteria


def test_a_providers_id_finds_the_order_it_paid_for(db: Engine) -> None:
    rows = add_searchable_rows(db, 6)
    queries = OrderQueries(db)
    for gateway_id in ("order_4", "pay_4"):
        items, cursor = queries.search(OrderSearch(gateway_id=gateway_id))
        assert [item["orderId"] for item in items] == [str(rows[4]["order_id"])]
        assert cursor is None
    assert queries.search(OrderSearch(gateway_id="pay_4", provider="stripe"))[0] == []
    assert queries.search(OrderSearch(gateway_id="pay_"))[0] == []  # exact, not a prefix
