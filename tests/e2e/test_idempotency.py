"""Idempotency-Key: a retried checkout replays the first response instead of buying twice."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from eventsourcing.utils import get_topic

from domain import Order
from tests.e2e.conftest import RunningApi

ITEMS = [{"sku": "SKU-1", "quantity": 2}]


def _orders_created_since(api: RunningApi, position: int) -> list[uuid.UUID]:
    notifications = api.container.app.recorder.select_notifications(
        start=position, limit=1000, inclusive_of_start=False, topics=[get_topic(Order.Created)]
    )
    created: list[uuid.UUID] = []
    for notification in notifications:
        assert isinstance(notification.originator_id, uuid.UUID), notification.originator_id
        created.append(notification.originator_id)
    return created


def _keyed(
    api: RunningApi, customer: str, key: str, items: list[dict[str, object]]
) -> httpx.Response:
    return api.checkout(customer, items, headers={"Idempotency-Key": key})


def test_the_same_key_and_body_replays_the_first_response(api: RunningApi) -> None:
    key = str(uuid.uuid4())
    first = _keyed(api, "cust-retry", key, ITEMS)
    before = api.head()

    again = _keyed(api, "cust-retry", key, ITEMS)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert int(again.headers["X-Log-Position"]) >= int(first.headers["X-Log-Position"])
    assert api.head() == before
    assert api.stock("SKU-1").available == 100 - 2


def test_the_same_key_with_another_body_is_409_and_writes_nothing(api: RunningApi) -> None:
    key = str(uuid.uuid4())
    assert _keyed(api, "cust-retry", key, ITEMS).status_code == 201
    before = api.head()

    other = _keyed(api, "cust-retry", key, [{"sku": "SKU-1", "quantity": 3}])

    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert api.head() == before


def test_keys_are_per_customer(api: RunningApi) -> None:
    key = str(uuid.uuid4())
    mine = _keyed(api, "cust-a", key, ITEMS)
    theirs = _keyed(api, "cust-b", key, [{"sku": "SKU-2", "quantity": 1}])
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["orderId"] != theirs.json()["orderId"]


def test_concurrent_requests_with_one_key_create_one_order(api: RunningApi) -> None:
    key = str(uuid.uuid4())
    before = api.head()
    start = threading.Barrier(10)

    def send(_: int) -> httpx.Response:
        start.wait()
        return _keyed(api, "cust-double-click", key, ITEMS)

    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(send, range(10)))

    assert Counter(r.status_code for r in responses) == {201: 10}
    order_ids = {r.json()["orderId"] for r in responses}
    assert len(order_ids) == 1
    assert [r.headers.get("Idempotent-Replayed") for r in responses].count(None) == 1
    assert _orders_created_since(api, before) == [uuid.UUID(order_ids.pop())]
    assert api.stock("SKU-1").available == 100 - 2
