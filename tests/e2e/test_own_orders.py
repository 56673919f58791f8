"""GET /orders: a customer lists their own orders, newest first, a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest

from tests.e2e.conftest import RunningApi
from tests.e2e.openapi_schemas import validate

PROBLEM_JSON = "application/problem+json"


def _customer() -> str:
    return f"cust-{uuid.uuid4().hex[:8]}"


def _place(api: RunningApi, customer: str, count: int) -> tuple[list[str], str]:
    """``count`` orders, oldest first, and the log position of the last one."""
    ids, position = [], ""
    for _ in range(count):
        placed = api.checkout(customer, [{"sku": "SKU-1", "quantity": 1}])
        assert placed.status_code == 201, placed.text
        ids.append(placed.json()["orderId"])
        position = placed.headers["X-Log-Position"]
    return ids, position


def _list(
    api: RunningApi,
    customer: str,
    position: str = "",
    roles: tuple[str, ...] = (),
    query: Mapping[str, str | int] | None = None,
) -> Any:
    headers = api.auth(customer, roles)
    if position:
        headers["X-Log-Position"] = position
    return api.client.get("/orders", params=query, headers=headers)


def test_a_customer_lists_their_own_orders_newest_first(api: RunningApi) -> None:
    alice, bob = _customer(), _customer()
    alices, _ = _place(api, alice, 2)
    bobs, _ = _place(api, bob, 1)
    later, position = _place(api, alice, 1)

    listed = _list(api, alice, position)

    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert [item["orderId"] for item in page["items"]] == (alices + later)[::-1]
    assert page["nextCursor"] is None
    # Each item is what the single-order read answers.
    for item in page["items"]:
        single = api.client.get(f"/orders/{item['orderId']}", headers=api.auth(alice))
        assert item == single.json()
    assert "customerId" not in page["items"][0]
    assert [i["orderId"] for i in _list(api, bob, position).json()["items"]] == bobs


def test_pages_follow_the_cursor_and_never_show_another_customers_orders(
    api: RunningApi,
) -> None:
    alice, bob = _customer(), _customer()
    alices: list[str] = []
    for _ in range(3):  # interleaved, so the other customer's rows sit between alice's
        alices += _place(api, alice, 2)[0]
        _place(api, bob, 1)
    position = str(api.head())

    seen: list[str] = []
    cursor: str | None = None
    sizes = []
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        page = _list(api, alice, position, query=params).json()
        sizes.append(len(page["items"]))
        seen += [item["orderId"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert sizes == [4, 2]
    assert seen == alices[::-1]
    assert _list(api, _customer(), position).json() == {"items": [], "nextCursor": None}


@pytest.mark.parametrize("role", ["service", "auditor"])
def test_a_token_that_names_no_customer_is_403(api: RunningApi, role: str) -> None:
    _, position = _place(api, "svc-or-audit", 1)  # a customer that shares the token's sub

    response = _list(api, "svc-or-audit", position, roles=(role,))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    assert role in response.json()["detail"]


def test_an_admin_lists_the_orders_its_own_sub_placed(api: RunningApi) -> None:
    _place(api, _customer(), 1)
    mine, position = _place(api, "ops", 1)

    listed = _list(api, "ops", position, roles=("admin",)).json()

    assert [item["orderId"] for item in listed["items"]] == mine


def test_no_token_is_401(api: RunningApi) -> None:
    response = api.client.get("/orders")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not base64 at all!"}, "cursor"),
        ({"cursor": "WzEsMl0"}, "cursor"),  # [1,2]: base64 JSON, not one we handed out
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(
    api: RunningApi, params: dict[str, str], field: str
) -> None:
    response = _list(api, _customer(), query=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_listing_is_documented_and_answers_as_documented(api: RunningApi) -> None:
    document = api.client.get("/openapi.json").json()
    operation = document["paths"]["/orders"]["get"]

    assert operation["operationId"] == "listOwnOrders"
    assert operation["security"] == [{"bearerAuth": []}]
    assert {p["name"] for p in operation["parameters"]} >= {"limit", "cursor", "X-Log-Position"}
    assert {"200", "400", "401", "403", "429"} <= set(operation["responses"])
    assert "`service` or `auditor`" in operation["description"]
    assert "403" in operation["description"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CustomerOrderPage"}

    buyer = _customer()
    _, position = _place(api, buyer, 2)
    listed = _list(api, buyer, position, query={"limit": 1})
    assert listed.json()["nextCursor"]
    assert validate(schema, listed.json(), document) == []
    refused = _list(api, buyer, roles=("service",))
    problem = operation["responses"]["403"]["content"][PROBLEM_JSON]["schema"]
    assert validate(problem, refused.json(), document) == []
