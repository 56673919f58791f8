"""Admin routes: the order listing and catalog upserts; and the public catalog."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import RunningApi

PRODUCT = {
    "sku": "SKU-NEW",
    "name": "Milk jug",
    "vendorId": "vendor-d",
    "unitAmount": 1500,
    "currency": "usd",
    "stock": 3,
}


def _place(api: RunningApi, count: int) -> tuple[list[str], str]:
    """Place `count` orders; return their ids (oldest first) and the last log position."""
    ids, position = [], "0"
    for n in range(count):
        placed = api.checkout(f"cust-{n}", [{"sku": "SKU-1", "quantity": 1}])
        ids.append(placed.json()["orderId"])
        position = placed.headers["X-Log-Position"]
    return ids, position


def test_admin_listing_pages_newest_first(api: RunningApi) -> None:
    ids, position = _place(api, 5)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2, "minPosition": position}
        if cursor:
            params["cursor"] = cursor
        response = api.client.get("/admin/orders", params=params, headers=api.admin())
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["orderId"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    assert pages == 3
    first = api.client.get("/admin/orders", params={"limit": 1}, headers=api.admin()).json()
    assert first["items"][0]["customerId"] == "cust-4"


def test_admin_listing_filters_by_status(api: RunningApi) -> None:
    ids, _ = _place(api, 3)
    cancelled = api.client.post(f"/orders/{ids[1]}/cancel", headers=api.auth("cust-1"))
    response = api.client.get(
        "/admin/orders",
        params={"status": "CANCELLED"},
        headers=api.admin() | {"X-Log-Position": cancelled.headers["X-Log-Position"]},
    )
    assert [item["orderId"] for item in response.json()["items"]] == [ids[1]]
    assert response.json()["items"][0]["status"] == "CANCELLED"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "SHIPPED"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "definitely-not-a-cursor"}, "cursor"),
    ],
)
def test_bad_listing_parameters_are_400(
    api: RunningApi, params: dict[str, str | int], field: str
) -> None:
    response = api.client.get("/admin/orders", params=params, headers=api.admin())
    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def _listed(api: RunningApi, position: str, **params: str) -> list[str]:
    response = api.client.get(
        "/admin/orders", params=params | {"minPosition": position}, headers=api.admin()
    )
    assert response.status_code == 200, response.text
    return [item["orderId"] for item in response.json()["items"]]


def test_admin_search_narrows_by_order_customer_provider_and_time(api: RunningApi) -> None:
    ids, _ = _place(api, 3)
    razorpay = api.checkout("cust-1", [{"sku": "SKU-2", "quantity": 1}], provider="razorpay")
    position = razorpay.headers["X-Log-Position"]
    everything = api.client.get(
        "/admin/orders", params={"minPosition": position}, headers=api.admin()
    )
    created = {item["orderId"]: item["createdAt"] for item in everything.json()["items"]}

    assert _listed(api, position, order=ids[2]) == [ids[2]]
    assert _listed(api, position, customer="cust-1") == [razorpay.json()["orderId"], ids[1]]
    assert _listed(api, position, provider="razorpay") == [razorpay.json()["orderId"]]
    assert _listed(api, position, provider="stripe", customer="cust-1") == [ids[1]]
    # From inclusive, to exclusive, with any offset: the middle order alone.
    around = {"createdFrom": created[ids[1]], "createdTo": created[ids[2]]}
    assert _listed(api, position, **around) == [ids[1]]
    in_india = datetime.fromisoformat(created[ids[1]]).astimezone(timezone(timedelta(hours=5.5)))
    assert _listed(api, position, createdFrom=in_india.isoformat(), createdTo=created[ids[2]]) == [
        ids[1]
    ]
    assert _listed(api, position, order=ids[0], customer="cust-1") == []
    assert _listed(api, position, gatewayRef="pi_nothing_paid_with_this") == []


def test_bad_search_parameters_are_400_naming_each(api: RunningApi) -> None:
    cases: list[tuple[dict[str, str], str]] = [
        ({"order": "not-a-uuid"}, "order"),
        ({"provider": "paypal"}, "provider"),
        ({"customer": ""}, "customer"),
        ({"customer": "x" * 201}, "customer"),
        ({"customer": "bad\u0007bell"}, "customer"),
        ({"gatewayRef": "pi 1"}, "gatewayRef"),
        ({"gatewayRef": "p" * 101}, "gatewayRef"),
        ({"createdFrom": "2026-11-21"}, "createdFrom"),
        ({"createdFrom": "2026-11-21T10:00:00"}, "createdFrom"),  # no offset
        ({"createdTo": "yesterday"}, "createdTo"),
        ({"createdFrom": "0001-01-01T00:00:00+05:00"}, "createdFrom"),
        (
            {"createdFrom": "2026-11-21T10:00:00Z", "createdTo": "2026-11-21T10:00:00Z"},
            "createdTo",
        ),
    ]
    for params, field in cases:
        response = api.client.get("/admin/orders", params=params, headers=api.admin())
        assert response.status_code == 400, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [error["field"] for error in response.json()["errors"]] == [field], params


def test_admin_upserts_one_product_or_a_list(api: RunningApi) -> None:
    one = api.client.post("/admin/products", json=PRODUCT, headers=api.admin())
    assert one.status_code == 200, one.text
    assert one.json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert int(one.headers["X-Log-Position"]) == api.head()

    many = api.client.post(
        "/admin/products",
        json=[PRODUCT | {"stock": 7}, PRODUCT | {"sku": "SKU-NEW-2", "active": False}],
        headers=api.admin(),
    )

    # An existing sku keeps its stock: a file uploaded again never puts sold units back.
    assert many.json() == {"created": 1, "updated": 0, "unchanged": 1}
    assert api.stock("SKU-NEW").available == 3
    more = api.client.post(
        "/admin/products/SKU-NEW/stock", json={"available": 7}, headers=api.admin()
    )
    assert more.status_code == 200, more.text
    assert more.json() == {"sku": "SKU-NEW", "onHand": 7, "available": 7}
    assert api.stock("SKU-NEW").available == 7
    placed = api.checkout("cust-jug", [{"sku": "SKU-NEW", "quantity": 7}])
    assert placed.json()["lines"][0]["unitAmount"] == 1500
    assert placed.json()["currency"] == "USD"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (PRODUCT | {"unitAmount": "15.00"}, 400),
        (PRODUCT | {"color": "blue"}, 400),
        ([PRODUCT, {"sku": "SKU-X"}], 400),
        (PRODUCT | {"currency": "XYZ"}, 422),
        (PRODUCT | {"stock": -1}, 422),
        ([PRODUCT, PRODUCT], 422),
        (PRODUCT | {"unitAmount": 2**63}, 422),
        (PRODUCT | {"unitAmount": 100_000_000}, 422),
        (PRODUCT | {"stock": 1_000_000_001}, 422),
        (PRODUCT | {"name": "Milk\u0000jug"}, 422),
        (PRODUCT | {"name": "Milk\njug"}, 422),
        (PRODUCT | {"vendorId": "v" * 65}, 422),
        (PRODUCT | {"sku": "SKU\u0007"}, 422),
        # The same bounds as a catalog file (domain.bounds): a sku is at most 64 characters.
        (PRODUCT | {"sku": "S" * 65}, 422),
        (PRODUCT | {"sku": ""}, 422),
    ],
)
def test_invalid_uploads_write_nothing(api: RunningApi, body: object, status: int) -> None:
    before = api.head()
    response = api.client.post("/admin/products", json=body, headers=api.admin())
    assert response.status_code == status, response.text
    assert api.head() == before


def test_upload_errors_name_the_field(api: RunningApi) -> None:
    response = api.client.post(
        "/admin/products", json=[PRODUCT, PRODUCT | {"stock": "3"}], headers=api.admin()
    )
    assert [error["field"] for error in response.json()["errors"]] == ["1.stock"]


def test_the_public_catalog_lists_active_products_with_availability(api: RunningApi) -> None:
    upload = api.client.post("/admin/products", json=PRODUCT, headers=api.admin())
    placed = api.checkout("cust-cat", [{"sku": "SKU-2", "quantity": 2}])

    response = api.client.get("/products", params={"minPosition": placed.headers["X-Log-Position"]})

    assert upload.status_code == 200
    assert response.status_code == 200
    items = {item["sku"]: item for item in response.json()["items"]}
    assert sorted(items) == ["SKU-1", "SKU-2", "SKU-EUR", "SKU-NEW"]
    assert items["SKU-1"] == {
        "sku": "SKU-1",
        "name": "Espresso cup",
        "vendorId": "vendor-a",
        "unitAmount": 1250,
        "currency": "USD",
        "available": 100,
    }
    assert items["SKU-2"]["available"] == 3


def test_stock_changes_by_delta_or_availability_and_refuses_the_rest(api: RunningApi) -> None:
    api.client.post("/admin/products", json=PRODUCT, headers=api.admin())
    api.checkout("cust-hold", [{"sku": "SKU-NEW", "quantity": 2}])  # 2 held by an open order
    path = "/admin/products/SKU-NEW/stock"

    delivered = api.client.post(path, json={"delta": 10}, headers=api.admin())
    offered = api.client.post(path, json={"available": 4}, headers=api.admin())

    assert delivered.json() == {"sku": "SKU-NEW", "onHand": 13, "available": 11}
    assert offered.json() == {"sku": "SKU-NEW", "onHand": 6, "available": 4}
    before = api.head()
    for body, status in [
        ({}, 400),
        ({"delta": 1, "available": 1}, 400),
        ({"delta": 0}, 422),
        ({"available": -1}, 422),
        ({"delta": 1_000_000_000}, 422),
    ]:
        response = api.client.post(path, json=body, headers=api.admin())
        assert response.status_code == status, (body, response.text)
    unknown = api.client.post("/admin/products/NOPE/stock", json={"delta": 1}, headers=api.admin())
    assert unknown.status_code == 422
    assert api.head() == before
    as_customer = api.client.post(path, json={"delta": 1}, headers=api.auth("cust-1"))
    assert as_customer.status_code == 403
