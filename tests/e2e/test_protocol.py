"""HTTP protocol details: methods, malformed parameters, the document's request bodies."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.conftest import RunningApi

PROBLEM_JSON = "application/problem+json"
# Fill a documented path's parameters: every path parameter is a UUID (api.operations).
_PARAMETER = re.compile(r"{\w+}")


# An id no order has; fixed, so that every pytest-xdist worker collects the same tests.
UNKNOWN = "9d4e2b7a-3f1c-4a8e-b6d5-0c7f8e9a1b2d"


def _allowed(response: Any) -> set[str]:
    return {method.strip() for method in response.headers["Allow"].split(",")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"/orders/{UNKNOWN}", {"GET", "HEAD"}),
        ("GET", "/checkout", {"POST"}),
        ("PUT", f"/orders/{UNKNOWN}/cancel", {"POST"}),
        ("PATCH", f"/admin/orders/{UNKNOWN}/refunds", {"GET", "HEAD", "POST"}),
        ("POST", "/products", {"GET", "HEAD"}),
        ("POST", "/admin/orders", {"GET", "HEAD"}),
        ("DELETE", "/storefront", {"GET", "HEAD"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    api: RunningApi, method: str, path: str, allowed: set[str]
) -> None:
    response = api.client.request(method, path, headers=api.admin())
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 405
    assert _allowed(response) == allowed


def test_every_documented_path_answers_other_methods_with_what_it_serves(
    api: RunningApi,
) -> None:
    document = api.client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        served = {method.upper() for method in operations}
        if "GET" in served:
            served.add("HEAD")
        concrete = _PARAMETER.sub(lambda _: str(uuid.uuid4()), path)
        response = api.client.request("PATCH", concrete)
        assert response.status_code == 405, path
        assert _allowed(response) == served, path


def test_paths_no_route_serves_are_still_404(api: RunningApi) -> None:
    for method in ("GET", "DELETE"):
        response = api.client.request(method, "/orders/not-a-uuid/nothing")
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM_JSON


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


ORDER = "3c9a1f0e-7b2d-4c8e-9f1a-5d6e7f8a9b0c"


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor(["2020-01-01T00:00:00+00:00", 5]),  # was a 500
        _cursor(["2020-01-01T00:00:00+00:00", None]),
        _cursor([1577836800, ORDER]),
        _cursor(["2020-01-01T00:00:00", ORDER]),  # no time zone
        _cursor(["0001-01-01T00:00:00+14:00", ORDER]),  # before year 1 in UTC
        _cursor(["2020-01-01T00:00:00+00:00", ORDER, 3]),
        _cursor({"2020-01-01T00:00:00+00:00": ORDER}),
        _cursor({"a": 1, "b": 2}),
        _cursor(None),
        _cursor("2020"),
        _cursor([[[[[]]]]]),
        "not base64 at all!",
        "////",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_malformed_cursor_is_400_naming_it(api: RunningApi, cursor: str) -> None:
    response = api.client.get("/admin/orders", params={"cursor": cursor}, headers=api.admin())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == ["cursor"]


def test_a_cursor_handed_out_still_pages(api: RunningApi) -> None:
    for _ in range(3):
        api.checkout("cust-pages", [{"sku": "SKU-1", "quantity": 1}])
    position = {"X-Log-Position": str(api.head())}
    first = api.client.get("/admin/orders", params={"limit": 2}, headers=api.admin() | position)
    cursor = first.json()["nextCursor"]
    second = api.client.get(
        "/admin/orders", params={"limit": 2, "cursor": cursor}, headers=api.admin()
    )
    assert second.status_code == 200
    assert len(first.json()["items"]) + len(second.json()["items"]) == 3


# Text a client could put in a query string; header values must stay visible ASCII.
_ANY_TEXT = st.text(max_size=40) | st.from_regex(r"-?[0-9]{1,25}", fullmatch=True)
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
READS = {
    "/admin/orders": ("status", "limit", "cursor", "minPosition"),
    "/admin/reviews": ("kind", "limit", "minPosition"),
    "/products": ("minPosition",),
}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_query_parameters_are_served_or_400_naming_the_field(
    api: RunningApi, data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(sorted(READS)))
    names = READS[path]
    params = data.draw(st.dictionaries(st.sampled_from(names), _ANY_TEXT, max_size=len(names)))
    headers = api.admin()
    position = data.draw(st.none() | _HEADER_TEXT)
    if position is not None:
        headers["X-Log-Position"] = position
    response = api.client.get(path, params=params, headers=headers)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.headers["content-type"] == PROBLEM_JSON
        fields = {error["field"] for error in response.json()["errors"]}
        assert fields
        assert fields <= {*params, "X-Log-Position"}, (params, position, fields)


def test_the_documented_request_bodies_are_required_exactly_where_the_api_needs_them(
    api: RunningApi,
) -> None:
    document = api.client.get("/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None or not operation["security"]:
                continue  # webhooks check the signature first; they are tested on their own
            concrete = _PARAMETER.sub(lambda _: str(uuid.uuid4()), path)
            headers = api.admin() | {"Idempotency-Key": f"k-{uuid.uuid4()}"}
            response = api.client.request(method, concrete, headers=headers)
            if body["required"]:
                assert response.status_code == 400, (path, response.text)
            else:
                assert response.status_code != 400, (path, response.text)
            checked += 1
    assert checked >= 4
    session = document["paths"]["/orders/{orderId}/payments/checkout-session"]["post"]
    assert session["requestBody"]["required"] is False


def test_reads_are_rate_limited_per_ip_apart_from_writes(start_api: Any) -> None:
    api: RunningApi = start_api(RATE_LIMIT_READS_PER_IP="3/minute")
    placed = api.checkout("cust-reads", [{"sku": "SKU-1", "quantity": 1}])
    order_id = placed.json()["orderId"]
    owner = api.auth("cust-reads")
    assert api.client.get("/products").status_code == 200
    assert api.client.get(f"/orders/{order_id}", headers=owner).status_code == 200
    assert api.client.get(f"/orders/{order_id}/payments", headers=owner).status_code == 200

    limited = api.client.get(f"/orders/{order_id}", headers=owner)

    assert limited.status_code == 429
    assert limited.headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.client.get("/products").status_code == 429
    assert api.client.get("/admin/orders", headers=api.admin()).status_code == 429
    # Writes have their own budget; probes and the document are never limited.
    assert api.checkout("cust-reads", [{"sku": "SKU-1", "quantity": 1}]).status_code == 201
    assert api.client.get("/healthz").status_code == 200
    assert api.client.get("/openapi.json").status_code == 200
