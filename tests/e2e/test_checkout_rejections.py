"""Every error POST /checkout can answer, each as problem+json, and none of them writes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from domain import MAX_LINE_QUANTITY
from tests.e2e.conftest import JWT_SECRET, RunningApi, StartApi

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def unchanged_log(api: RunningApi) -> Iterator[None]:
    """Fails the test if anything was written to the event log while it ran."""
    before = api.head()
    yield
    assert api.head() == before, "a rejected request wrote events"


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail", "errors"} <= set(body)
    return body


def _post(
    api: RunningApi, content: bytes, headers: dict[str, str | bytes] | None = None
) -> httpx.Response:
    merged: dict[str, str | bytes] = {**api.auth("cust-reject"), **(headers or {})}
    merged["Content-Type"] = "application/json"
    # httpx types a header mapping as all-str or all-bytes: send all as bytes, str ones encoded
    # as httpx itself would encode them (ASCII).
    raw = [
        (name.encode("ascii"), value if isinstance(value, bytes) else value.encode("ascii"))
        for name, value in merged.items()
    ]
    return api.client.post("/checkout", content=content, headers=raw)


@pytest.mark.usefixtures("unchanged_log")
@pytest.mark.parametrize("content", [b'{"items": [', b"", b"not json", b'{"items": [}'])
def test_malformed_json_is_400(api: RunningApi, content: bytes) -> None:
    body = _problem(_post(api, content), 400)
    assert body["title"] == "Malformed JSON"


@pytest.mark.usefixtures("unchanged_log")
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"items": [{"sku": "SKU-1", "quantity": "2"}], "provider": "stripe"}, "items.0.quantity"),
        ({"items": [{"sku": "SKU-1", "quantity": 2.5}], "provider": "stripe"}, "items.0.quantity"),
        ({"items": [{"sku": "SKU-1", "quantity": True}], "provider": "stripe"}, "items.0.quantity"),
        ({"items": [{"sku": "SKU-1", "quantity": 2}], "provider": "paypal"}, "provider"),
        ({"items": [{"sku": "SKU-1", "quantity": 2}]}, "provider"),
        ({"items": [{"sku": "SKU-1"}], "provider": "stripe"}, "items.0.quantity"),
        ({"items": [{"sku": 7, "quantity": 1}], "provider": "stripe"}, "items.0.sku"),
        ({"items": {"sku": "SKU-1"}, "provider": "stripe"}, "items"),
        ({"items": [], "provider": "stripe", "amount": 1}, "amount"),
        ([], "body"),
    ],
)
def test_schema_violations_are_400_naming_the_field(
    api: RunningApi, payload: Any, field: str
) -> None:
    body = _problem(_post(api, json.dumps(payload).encode()), 400)
    assert field in [error["field"] for error in body["errors"]]


def _token(claims: dict[str, Any], key: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _bad_authorizations() -> list[str | None]:
    # Fixed times (2001 and 2033), so that every pytest-xdist worker collects the same ids.
    past, future = 1_000_000_000, 2_000_000_000
    other_secret = "another-secret-that-is-also-long-enough-0123456789"
    return [
        None,
        "Bearer",
        "Bearer not.a.jwt",
        "Basic dXNlcjpwYXNz",
        f"Bearer {_token({'sub': 'c', 'exp': past})}",
        f"Bearer {_token({'sub': 'c', 'exp': future}, key=other_secret)}",
        f"Bearer {jwt.encode({'sub': 'c', 'exp': future}, None, algorithm='none')}",
        f"Bearer {_token({'exp': future})}",
        f"Bearer {_token({'sub': 'c'})}",
        f"Bearer {_token({'sub': 'c', 'exp': future, 'roles': 'admin'})}",
    ]


@pytest.mark.usefixtures("unchanged_log")
@pytest.mark.parametrize("authorization", _bad_authorizations())
def test_missing_or_bad_tokens_are_401_with_a_bearer_challenge(
    api: RunningApi, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    payload = {"items": [{"sku": "SKU-1", "quantity": 1}], "provider": "stripe"}

    response = api.client.post("/checkout", json=payload, headers=headers)

    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.usefixtures("unchanged_log")
def test_not_enough_stock_is_409_listing_every_short_sku(api: RunningApi) -> None:
    items = [
        {"sku": "SKU-1", "quantity": 101},
        {"sku": "SKU-2", "quantity": 6},
    ]
    body = _problem(api.checkout("cust-short", items), 409)
    assert sorted(error["sku"] for error in body["errors"]) == ["SKU-1", "SKU-2"]
    assert {error["field"] for error in body["errors"]} == {"items"}
    assert api.stock("SKU-2").available == 5


@pytest.mark.usefixtures("unchanged_log")
@pytest.mark.parametrize(
    ("items", "kind"),
    [
        ([{"sku": "SKU-404", "quantity": 1}], "unknown-product"),
        ([{"sku": "SKU-1", "quantity": 0}], "invalid-quantity"),
        ([{"sku": "SKU-1", "quantity": -3}], "invalid-quantity"),
        ([{"sku": "SKU-1", "quantity": MAX_LINE_QUANTITY + 1}], "invalid-quantity"),
        ([{"sku": "SKU-1", "quantity": 1}, {"sku": "SKU-EUR", "quantity": 1}], "mixed-currencies"),
        ([], "empty-cart"),
        ([{"sku": "SKU-OFF", "quantity": 1}], "product-inactive"),
    ],
)
def test_business_rule_violations_are_422(
    api: RunningApi, items: list[dict[str, Any]], kind: str
) -> None:
    body = _problem(api.checkout("cust-rules", items), 422)
    assert body["type"].endswith(f"/{kind}")
    assert body["errors"], "the offending field is named"


@pytest.mark.usefixtures("unchanged_log")
def test_unknown_skus_are_each_named(api: RunningApi) -> None:
    items = [{"sku": "NOPE-1", "quantity": 1}, {"sku": "NOPE-2", "quantity": 1}]
    body = _problem(api.checkout("cust-unknown", items), 422)
    assert sorted(error["sku"] for error in body["errors"]) == ["NOPE-1", "NOPE-2"]


@pytest.mark.usefixtures("unchanged_log")
def test_a_body_over_64_kib_is_413(api: RunningApi) -> None:
    items = [{"sku": f"SKU-{n:06d}", "quantity": 1} for n in range(3000)]
    content = json.dumps({"items": items, "provider": "stripe"}).encode()
    assert len(content) > 64 * 1024

    _problem(_post(api, content), 413)


@pytest.mark.usefixtures("unchanged_log")
@pytest.mark.parametrize("key", ["", "k" * 256, "has space", "ключ".encode()])
def test_an_invalid_idempotency_key_is_400(api: RunningApi, key: str | bytes) -> None:
    payload = json.dumps({"items": [{"sku": "SKU-1", "quantity": 1}], "provider": "stripe"})
    body = _problem(_post(api, payload.encode(), headers={"Idempotency-Key": key}), 400)
    assert body["errors"][0]["field"] == "Idempotency-Key"


def test_rate_limited_customers_get_429_with_retry_after(start_api: StartApi) -> None:
    api = start_api(RATE_LIMIT_PER_CUSTOMER="2/minute")
    items = [{"sku": "SKU-1", "quantity": 1}]
    assert api.checkout("cust-busy", items).status_code == 201
    assert api.checkout("cust-busy", items).status_code == 201
    before = api.head()

    limited = api.checkout("cust-busy", items)

    _problem(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.head() == before
    assert api.checkout(f"cust-{uuid.uuid4().hex[:6]}", items).status_code == 201


def test_the_ip_limit_covers_every_customer(start_api: StartApi) -> None:
    api = start_api(RATE_LIMIT_PER_IP="3/minute", RATE_LIMIT_PER_CUSTOMER="off")
    items = [{"sku": "SKU-1", "quantity": 1}]
    statuses = [api.checkout(f"cust-{n}", items).status_code for n in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_totals_lines_and_customer_ids_beyond_the_bounds_are_422_and_write_nothing(
    api: RunningApi,
) -> None:
    from application.catalog import CatalogEntry

    api.container.catalog.upsert(
        [CatalogEntry("SKU-BIG", "Piano", "vendor-p", 60_000_000, "USD", 10)]
    )
    many = [{"sku": f"SKU-{n}", "quantity": 1} for n in range(101)]
    before = api.head()

    too_much = _problem(api.checkout("cust-big", [{"sku": "SKU-BIG", "quantity": 2}]), 422)
    too_long = _problem(api.checkout("cust-long", many), 422)
    control = _problem(api.checkout("cust\x07bell", [{"sku": "SKU-1", "quantity": 1}]), 422)

    assert too_much["type"].endswith("/out-of-bounds")
    assert too_much["errors"][0] == {
        "field": "items",
        "message": "the line total of SKU-BIG must be at most 99999999 minor units",
    }
    assert too_long["errors"][0]["field"] == "items"
    assert control["errors"][0]["field"] == "customerId"
    assert api.head() == before
    fine = api.checkout("cust-big", [{"sku": "SKU-BIG", "quantity": 1}])
    assert fine.status_code == 201, fine.text
