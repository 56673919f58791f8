"""Checkout against real PostgreSQL: contention, idempotency races and atomicity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from application.application import CheckoutApplication
from application.catalog import CatalogEntry
from application.checkout import CartItem, Checkout, CheckoutRequest, Placed
from application.errors import ContentionExhausted
from domain import InsufficientStock, Order, Stock
from entrypoints.bootstrap import Container
from tests.stock_ledger import held_by_order


@pytest.fixture
def pool_size() -> int:
    return 20  # forty buyers at once


@pytest.fixture
def checkout(container: Container) -> Checkout:
    container.catalog.upsert([CatalogEntry("LIMITED", "Limited print", "v1", 5000, "EUR", 12)])
    return container.checkout


def one_unit(customer: str, key: str | None = None) -> CheckoutRequest:
    return CheckoutRequest(customer, (CartItem("LIMITED", 1),), "stripe", key)


def test_forty_buyers_twelve_units(app: CheckoutApplication, checkout: Checkout) -> None:
    def attempt(n: int) -> Placed | InsufficientStock:
        try:
            return checkout(one_unit(f"customer-{n}"))
        except InsufficientStock as exc:
            return exc

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, range(40)))
    placed = [r for r in results if isinstance(r, Placed)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(placed), len(refused)) == (12, 28)
    stock = app.load(Stock, Stock.id_for("LIMITED"))
    assert stock.available == 0
    assert stock.reserved == 12
    assert held_by_order(app, "LIMITED") == {str(p.order.id): 1 for p in placed}


def test_a_crowd_on_one_sku_never_runs_out_of_retries(container: Container) -> None:
    """Forty threads on one Stock: each round of optimistic concurrency has one winner, and
    before the losers took turns, some needed 30-40 attempts (a 503 with stock left)."""
    container.catalog.upsert([CatalogEntry("HOT", "Flash sale", "v1", 900, "EUR", 50)])
    tight = Checkout(container.app, container.clock, timedelta(minutes=30), attempts=8)

    def attempt(n: int) -> str:
        try:
            tight(CheckoutRequest(f"crowd-{n}", (CartItem("HOT", 1),), "stripe"))
        except InsufficientStock:
            return "short"
        except ContentionExhausted:
            return "exhausted"
        return "placed"

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(attempt, range(100)))
    assert sorted(set(results)) == ["placed", "short"]
    assert results.count("placed") == 50


def test_concurrent_requests_with_one_key_make_one_order(
    app: CheckoutApplication, checkout: Checkout
) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: checkout(one_unit("alice", "same-key")), range(10)))
    assert len({r.order.id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    stock = app.load(Stock, Stock.id_for("LIMITED"))
    assert stock.reserved == 1


def test_an_order_its_payment_and_its_reservations_commit_together(
    app: CheckoutApplication, checkout: Checkout
) -> None:
    before = app.head_position()
    placed = checkout(one_unit("bob"))
    notifications = app.notification_log.select(start=before + 1, limit=10)
    assert [n.originator_id for n in notifications] == [
        placed.order.id,
        placed.payment.id,
        Stock.id_for("LIMITED"),
    ]
    assert app.load(Order, placed.order.id).request_fingerprint == one_unit("bob").fingerprint()
