"""Who may read and change an order: owners and admins (read-only roles: test_roles.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import RunningApi


@pytest.fixture
def order(api: RunningApi) -> tuple[str, str]:
    """(order id, log position) of an order placed by cust-owner."""
    placed = api.checkout("cust-owner", [{"sku": "SKU-1", "quantity": 1}])
    assert placed.status_code == 201
    return placed.json()["orderId"], placed.headers["X-Log-Position"]


@pytest.mark.parametrize("path", ["/orders/{}", "/orders/{}/payments"])
def test_another_customer_gets_404_never_the_order(
    api: RunningApi, order: tuple[str, str], path: str
) -> None:
    order_id, position = order
    headers = api.auth("cust-stranger") | {"X-Log-Position": position}

    response = api.client.get(path.format(order_id), headers=headers)

    unknown = api.client.get(path.format(uuid.uuid4()), headers=headers)
    assert (response.status_code, unknown.status_code) == (404, 404)
    # Indistinguishable from an order that does not exist.
    assert response.json().keys() == unknown.json().keys()
    assert response.json() | {"instance": ""} == unknown.json() | {"instance": ""}


@pytest.mark.parametrize("path", ["/orders/{}", "/orders/{}/payments"])
def test_an_admin_reads_any_order(api: RunningApi, order: tuple[str, str], path: str) -> None:
    order_id, position = order
    response = api.client.get(
        path.format(order_id), headers=api.admin() | {"X-Log-Position": position}
    )
    assert response.status_code == 200
    assert response.json()["orderId"] == order_id


def test_another_customer_cannot_cancel(api: RunningApi, order: tuple[str, str]) -> None:
    order_id, _ = order
    before = api.head()
    response = api.client.post(f"/orders/{order_id}/cancel", headers=api.auth("cust-stranger"))
    assert response.status_code == 404
    assert api.head() == before


def test_a_customer_on_admin_routes_gets_403(api: RunningApi) -> None:
    listing = api.client.get("/admin/orders", headers=api.auth("cust-owner"))
    upload = api.client.post(
        "/admin/products",
        json={
            "sku": "X",
            "name": "x",
            "vendorId": "v",
            "unitAmount": 1,
            "currency": "USD",
            "stock": 1,
        },
        headers=api.auth("cust-owner", ["service"]),
    )
    assert (listing.status_code, upload.status_code) == (403, 403)
    assert listing.headers["content-type"] == "application/problem+json"
    assert api.client.get("/admin/orders").status_code == 401


# Ids no order has; fixed, so that every pytest-xdist worker collects the same tests.
UNKNOWN = ("6f0d4c2a-9b1e-4e7a-8c3d-2a5b7e9f1c04", "0b8e3f6a-1c2d-4e5f-9a7b-3c4d5e6f7a80")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/orders/not-a-uuid"),
        ("GET", "/orders/12345/payments"),
        ("POST", "/orders/not-a-uuid/cancel"),
        ("GET", f"/orders/{UNKNOWN[0]}"),
        ("POST", f"/orders/{UNKNOWN[1]}/cancel"),
    ],
)
def test_bad_or_unknown_order_ids_are_404(api: RunningApi, method: str, path: str) -> None:
    response = api.client.request(method, path, headers=api.auth("cust-owner"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_bad_log_position_is_400(api: RunningApi, order: tuple[str, str]) -> None:
    order_id, _ = order
    headers = api.auth("cust-owner")
    bad_header = api.client.get(f"/orders/{order_id}", headers=headers | {"X-Log-Position": "x"})
    bad_query = api.client.get(f"/orders/{order_id}", params={"minPosition": "-1"}, headers=headers)
    assert (bad_header.status_code, bad_query.status_code) == (400, 400)


def test_a_position_beyond_the_log_head_is_400_at_once(
    api: RunningApi, order: tuple[str, str]
) -> None:
    # No write answered it, so no wait could ever be rewarded (test_read_consistency.py
    # has the 503 for views that stay behind).
    order_id, position = order
    response = api.client.get(
        f"/orders/{order_id}",
        headers=api.auth("cust-owner") | {"X-Log-Position": str(int(position) + 1000)},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "X-Log-Position"
