"""Reads reflect the writes they must: single orders always, anything given a position.

`views_held` keeps the projections from committing, so each test sees what a read does
while the views lag behind the log, deterministically rather than by luck of timing.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from infrastructure.observability import READS_WAITING
from tests.e2e.conftest import RunningApi
from tests.e2e.held_views import views_held
from tests.waiting import wait_until

ITEMS = [{"sku": "SKU-1", "quantity": 1}]


def reads_waiting(count: int) -> None:
    """Until ``count`` reads are waiting for the views: the API runs in this process, so
    its gauge is ours to read (0 between tests: every wait ends with its test)."""
    wait_until(
        lambda: READS_WAITING._value.get() >= count,
        timeout=10,
        what=f"{count} reads waiting for the views",
    )


def test_right_after_checkout_the_owner_reads_the_order_and_its_payment(
    api: RunningApi,
) -> None:
    owner = api.auth("cust-ryw")
    with ThreadPoolExecutor(2) as pool:
        with views_held(api, "orders", "payments"):
            placed = api.checkout("cust-ryw", ITEMS)
            assert placed.status_code == 201
            order_id = placed.json()["orderId"]
            # No X-Log-Position: a single-order read reflects every write answered before it.
            order = pool.submit(api.client.get, f"/orders/{order_id}", headers=owner)
            payment = pool.submit(api.client.get, f"/orders/{order_id}/payments", headers=owner)
            reads_waiting(2)
            assert not order.done()
            assert not payment.done()  # they wait for the views, they do not read stale rows
        order_read, payment_read = order.result(), payment.result()
    assert (order_read.status_code, payment_read.status_code) == (200, 200)
    assert order_read.json()["status"] == "PENDING_PAYMENT"
    assert payment_read.json()["orderId"] == order_id


def test_right_after_a_cancel_the_order_reads_cancelled_and_its_payment_canceled(
    api: RunningApi,
) -> None:
    owner = api.auth("cust-ryw")
    placed = api.checkout("cust-ryw", ITEMS)
    order_id = placed.json()["orderId"]
    with ThreadPoolExecutor(2) as pool:
        with views_held(api, "orders", "payments"):
            cancelled = api.client.post(f"/orders/{order_id}/cancel", headers=owner)
            assert cancelled.status_code == 200
            order = pool.submit(api.client.get, f"/orders/{order_id}", headers=owner)
            payment = pool.submit(api.client.get, f"/orders/{order_id}/payments", headers=owner)
            reads_waiting(2)
        order_read, payment_read = order.result(), payment.result()
    assert order_read.json()["status"] == "CANCELLED"
    assert order_read.json()["payment"]["status"] == "canceled"
    assert payment_read.json()["status"] == "canceled"


def test_back_to_back_writes_and_reads_never_see_an_older_state(api: RunningApi) -> None:
    owner = api.auth("cust-ryw")
    for _ in range(5):
        placed = api.checkout("cust-ryw", ITEMS)
        order_id = placed.json()["orderId"]
        assert api.client.get(f"/orders/{order_id}", headers=owner).status_code == 200
        api.client.post(f"/orders/{order_id}/cancel", headers=owner)
        read = api.client.get(f"/orders/{order_id}/payments", headers=owner)
        assert read.json()["status"] == "canceled"


def test_views_that_stay_behind_are_503_with_retry_after_never_stale(api: RunningApi) -> None:
    with views_held(api, "orders"):
        placed = api.checkout("cust-ryw", ITEMS)
        started = time.monotonic()
        response = api.client.get(
            f"/orders/{placed.json()['orderId']}", headers=api.auth("cust-ryw")
        )
        waited = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["type"].endswith("/views-behind")
    assert 4.5 <= waited < 8  # the bounded wait (5 s), then the answer


def test_lists_reflect_a_write_only_when_given_its_position(api: RunningApi) -> None:
    with ThreadPoolExecutor(1) as pool:
        with views_held(api, "orders"):
            placed = api.checkout("cust-ryw", ITEMS)
            order_id = placed.json()["orderId"]
            started = time.monotonic()
            plain = api.client.get("/admin/orders", headers=api.admin())
            assert time.monotonic() - started < 0.4  # no waiting without a position
            position = {"X-Log-Position": placed.headers["X-Log-Position"]}
            waiting = pool.submit(api.client.get, "/admin/orders", headers=api.admin() | position)
            reads_waiting(1)
            assert not waiting.done()
        positioned = waiting.result()
    assert order_id not in [item["orderId"] for item in plain.json()["items"]]
    assert order_id in [item["orderId"] for item in positioned.json()["items"]]


def test_a_position_beyond_the_head_is_400_at_once_naming_where_it_was_sent(
    api: RunningApi,
) -> None:
    placed = api.checkout("cust-ryw", ITEMS)
    order_id = placed.json()["orderId"]
    beyond = str(api.head() + 1)
    owner = api.auth("cust-ryw")
    with views_held(api, "orders", "payments", "catalog"):  # no answer may wait for them
        started = time.monotonic()
        cases = [
            (
                ("X-Log-Position",),
                api.client.get(f"/orders/{order_id}", headers=owner | {"X-Log-Position": beyond}),
            ),
            (
                ("minPosition",),
                api.client.get(
                    f"/orders/{order_id}/payments", params={"minPosition": beyond}, headers=owner
                ),
            ),
            (
                ("minPosition", "X-Log-Position"),
                api.client.get(
                    "/admin/orders",
                    params={"minPosition": beyond},
                    headers=api.admin() | {"X-Log-Position": beyond},
                ),
            ),
            (
                ("X-Log-Position",),
                api.client.get("/products", headers={"X-Log-Position": beyond}),
            ),
        ]
        elapsed = time.monotonic() - started
    assert elapsed < 2
    for fields, response in cases:
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["type"].endswith("/position-beyond-head")
        assert tuple(error["field"] for error in body["errors"]) == fields


def test_a_position_at_the_head_is_served(api: RunningApi) -> None:
    api.checkout("cust-ryw", ITEMS)
    response = api.client.get("/products", headers={"X-Log-Position": str(api.head())})
    assert response.status_code == 200


def test_waiting_reads_hold_no_worker_thread(api: RunningApi) -> None:
    """More reads wait than the threadpool has threads (40), and the API still serves."""
    owner = api.auth("cust-ryw")
    waiting_reads = 60
    with ThreadPoolExecutor(waiting_reads) as pool:
        with views_held(api, "orders"):
            placed = api.checkout("cust-ryw", ITEMS)
            path = f"/orders/{placed.json()['orderId']}"
            reads = [pool.submit(api.client.get, path, headers=owner) for _ in range(waiting_reads)]
            reads_waiting(waiting_reads)
            started = time.monotonic()
            # Served in a worker thread, like every query: it would queue behind the waiting
            # reads if they each held a thread.
            products = api.client.get("/products")
            served_in = time.monotonic() - started
            assert not any(read.done() for read in reads)
        statuses = [read.result().status_code for read in reads]
    assert products.status_code == 200
    assert served_in < 1.5
    assert statuses == [200] * waiting_reads
