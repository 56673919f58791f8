"""Request validation: strict JSON types, camelCase, 400 naming each bad field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.problems import Problem
from api.schemas import (
    IDEMPOTENCY_KEY,
    AdminOrdersQuery,
    CheckoutBody,
    OrderOut,
    ProductUpload,
    ReadQuery,
)
from api.validation import validate_header, validate_json, validate_query


def _rejection(model: Any, payload: Any) -> Problem:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with pytest.raises(Problem) as caught:
        validate_json(model, raw)
    assert caught.value.status == 400
    return caught.value


def test_a_valid_checkout_body_parses() -> None:
    body = validate_json(
        CheckoutBody,
        b'{"items": [{"sku": "SKU-1", "quantity": 2}], "provider": "razorpay"}',
    )
    assert body.items[0].sku == "SKU-1"
    assert body.items[0].quantity == 2
    assert body.provider == "razorpay"


def test_business_rules_are_left_to_the_domain() -> None:
    body = validate_json(
        CheckoutBody,
        b'{"items": [{"sku": "S", "quantity": -4}, {"sku": "T", "quantity": 0}],'
        b' "provider": "stripe"}',
    )
    assert [item.quantity for item in body.items] == [-4, 0]
    assert validate_json(CheckoutBody, b'{"items": [], "provider": "stripe"}').items == []


@pytest.mark.parametrize("quantity", ["2", 2.5, 2.0, True, None, [2]])
def test_a_quantity_must_be_a_json_integer(quantity: object) -> None:
    payload = {"items": [{"sku": "SKU-1", "quantity": quantity}], "provider": "stripe"}
    problem = _rejection(CheckoutBody, payload)
    assert problem.errors[0]["field"] == "items.0.quantity"
    assert problem.title == "Invalid Request"


def test_every_bad_field_is_listed() -> None:
    payload = {"items": [{"sku": "", "quantity": 1, "price": 1}], "provider": "cash", "x": 1}
    fields = {error["field"] for error in _rejection(CheckoutBody, payload).errors}
    assert fields == {"items.0.sku", "items.0.price", "provider", "x"}


@pytest.mark.parametrize("raw", [b"", b"{", b"{'items': []}", b"\xff\xfe", b'{"items": [] "x"}'])
def test_malformed_json_is_its_own_400(raw: bytes) -> None:
    problem = _rejection(CheckoutBody, raw)
    assert problem.title == "Malformed JSON"
    assert problem.body()["type"].endswith("/malformed-json")


def test_a_non_object_body_is_a_schema_error_on_the_body() -> None:
    assert _rejection(CheckoutBody, [1, 2]).errors[0]["field"] == "body"


def test_product_uploads_take_one_or_many_in_camel_case() -> None:
    product = {
        "sku": "A",
        "name": "a",
        "vendorId": "v",
        "unitAmount": 100,
        "currency": "EUR",
        "stock": 2,
    }
    one = validate_json(ProductUpload, json.dumps(product).encode())
    many = validate_json(ProductUpload, json.dumps([product, product | {"sku": "B"}]).encode())
    assert [p.sku for p in one.entries()] == ["A"]
    assert [p.sku for p in many.entries()] == ["A", "B"]
    assert one.entries()[0].vendor_id == "v"
    assert one.entries()[0].active is True
    snake = product | {"vendor_id": "v"}
    del snake["vendorId"]
    fields = {e["field"] for e in _rejection(ProductUpload, snake).errors}
    assert fields == {"vendorId", "vendor_id"}
    bad_second = [product, product | {"unitAmount": "1"}]
    assert [e["field"] for e in _rejection(ProductUpload, bad_second).errors] == ["1.unitAmount"]


def test_query_parameters_are_converted_and_checked() -> None:
    query = validate_query(
        AdminOrdersQuery, {"limit": "7", "status": "REFUNDED", "minPosition": "9"}
    )
    assert (query.limit, query.status, query.cursor, query.min_position) == (7, "REFUNDED", None, 9)
    assert validate_query(AdminOrdersQuery, {}).limit == 50
    for params in ({"limit": "0"}, {"limit": "201"}, {"status": "LOST"}, {"limit": "x"}):
        with pytest.raises(Problem) as caught:
            validate_query(AdminOrdersQuery, params)
        assert caught.value.status == 400
        assert caught.value.errors[0]["field"] == next(iter(params))
    with pytest.raises(Problem):
        validate_query(ReadQuery, {"minPosition": "-1"})


@pytest.mark.parametrize("key", ["a", "k" * 255, "order-7f3a:retry_2"])
def test_idempotency_keys_are_1_to_255_visible_characters(key: str) -> None:
    assert validate_header(IDEMPOTENCY_KEY, "Idempotency-Key", key) == key


@pytest.mark.parametrize("key", ["", "k" * 256, "two words", "tab\there", "ключ"])
def test_other_idempotency_keys_are_400(key: str) -> None:
    with pytest.raises(Problem) as caught:
        validate_header(IDEMPOTENCY_KEY, "Idempotency-Key", key)
    assert caught.value.errors[0]["field"] == "Idempotency-Key"


def test_responses_render_camel_case() -> None:
    document = {
        "orderId": "8c0e4f3e-5d4c-4b7a-9a51-6f3f0d9d8a11",
        "status": "PENDING_PAYMENT",
        "amount": 10,
        "currency": "USD",
        "lines": [{"sku": "A", "quantity": 1, "unitAmount": 10, "vendorId": "v"}],
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:01Z",
        "payment": {
            "paymentId": "0b0c5c3e-1d4c-4b7a-9a51-6f3f0d9d8a11",
            "provider": "stripe",
            "status": "processing",
        },
    }
    rendered = OrderOut.model_validate(document).model_dump(mode="json")
    assert set(rendered) == set(document)
    assert rendered["lines"] == document["lines"]
    assert rendered["payment"] == document["payment"]
