"""The read-only roles: `service` reads orders and payments, `auditor` also the listings.

Neither changes anything: every write they attempt is 403 and leaves the log as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import RunningApi

CHECKOUT = {"items": [{"sku": "SKU-1", "quantity": 1}], "provider": "stripe"}
REFUND = {"reason": "goodwill"}
PRODUCT = {
    "sku": "X-1",
    "name": "x",
    "vendorId": "v",
    "unitAmount": 1,
    "currency": "USD",
    "stock": 1,
}


@pytest.fixture
def order_id(api: RunningApi) -> str:
    placed = api.checkout("cust-roles", [{"sku": "SKU-1", "quantity": 1}])
    assert placed.status_code == 201
    order: str = placed.json()["orderId"]
    return order


def _writes(order_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("POST", "/checkout", CHECKOUT),
        ("POST", f"/orders/{order_id}/cancel", None),
        ("POST", f"/orders/{order_id}/payments/checkout-session", None),
        (
            "POST",
            f"/orders/{order_id}/payments/verify",
            {"razorpay_order_id": "o", "razorpay_payment_id": "p", "razorpay_signature": "s"},
        ),
        ("POST", f"/admin/orders/{order_id}/refunds", REFUND),
        ("POST", "/admin/products", PRODUCT),
    ]


@pytest.mark.parametrize("role", ["service", "auditor"])
def test_a_read_only_role_reads_any_order_and_its_payment(
    api: RunningApi, order_id: str, role: str
) -> None:
    headers = api.auth(f"{role}-caller", [role])
    order = api.client.get(f"/orders/{order_id}", headers=headers)
    payment = api.client.get(f"/orders/{order_id}/payments", headers=headers)
    assert (order.status_code, payment.status_code) == (200, 200)
    assert order.json()["orderId"] == payment.json()["orderId"] == order_id


@pytest.mark.parametrize("role", ["service", "auditor"])
def test_a_read_only_role_changes_nothing(api: RunningApi, order_id: str, role: str) -> None:
    headers = api.auth(f"{role}-caller", [role]) | {"Idempotency-Key": "role-key-1"}
    before = api.head()
    for method, path, body in _writes(order_id):
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert api.head() == before
    # The order is still the owner's to cancel.
    cancel = api.client.post(f"/orders/{order_id}/cancel", headers=api.auth("cust-roles"))
    assert cancel.status_code == 200


def test_the_owner_with_a_read_only_role_is_read_only_too(api: RunningApi, order_id: str) -> None:
    headers = api.auth("cust-roles", ["service"])
    assert api.client.post(f"/orders/{order_id}/cancel", headers=headers).status_code == 403
    assert api.client.get(f"/orders/{order_id}", headers=headers).status_code == 200


def test_service_reads_orders_and_nothing_else(api: RunningApi, order_id: str) -> None:
    headers = api.auth("fulfilment", ["service"])
    for path in ("/admin/orders", f"/admin/orders/{order_id}/refunds", "/admin/reviews"):
        response = api.client.get(path, headers=headers)
        assert response.status_code == 403, path


def test_auditor_reads_the_listing_and_refunds_but_not_reviews(
    api: RunningApi, order_id: str
) -> None:
    headers = api.auth("audit-1", ["auditor"])
    position = {"X-Log-Position": str(api.head())}
    listing = api.client.get("/admin/orders", headers=headers | position)
    assert listing.status_code == 200
    assert [item["orderId"] for item in listing.json()["items"]] == [order_id]
    refunds = api.client.get(f"/admin/orders/{order_id}/refunds", headers=headers)
    assert refunds.status_code == 200
    assert refunds.json() == {"orderId": order_id, "items": []}
    assert api.client.get("/admin/reviews", headers=headers).status_code == 403


def test_admin_with_auditor_role_still_runs_the_shop(api: RunningApi) -> None:
    headers = api.auth("ops", ["admin", "auditor"])
    assert api.client.post("/admin/products", json=PRODUCT, headers=headers).status_code == 200
