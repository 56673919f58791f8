"""Domain and application errors rendered as RFC 9457 problems."""

from __future__ import annotations

import json

import pytest

from api.domain_problems import problem_for
from api.problems import PROBLEM_JSON
from application.errors import (
    ApplicationError,
    ContentionExhausted,
    IdempotencyConflict,
    OrderNotFound,
)
from domain import (
    DomainError,
    EmptyCart,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransition,
    MixedCurrencies,
    ProductInactive,
    UnknownCurrency,
    UnknownProduct,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InsufficientStock(["B", "A"]), 409),
        (InvalidTransition("order 1", "cancel", "CANCELLED"), 409),
        (IdempotencyConflict("k"), 409),
        (UnknownProduct(["X"]), 422),
        (ProductInactive(["X"]), 422),
        (InvalidQuantity(0, "A", 1000), 422),
        (MixedCurrencies(["USD", "EUR"]), 422),
        (EmptyCart(), 422),
        (UnknownCurrency("XYZ"), 422),
        (OrderNotFound("8c0e4f3e-5d4c-4b7a-9a51-6f3f0d9d8a11"), 404),
        (ContentionExhausted(40), 503),
    ],
)
def test_each_error_has_its_status(error: DomainError | ApplicationError, status: int) -> None:
    problem = problem_for(error)
    assert problem.status == status
    body = problem.body()
    assert body["status"] == status
    assert body["detail"] == str(error)
    assert body["type"].startswith("https://")


def test_insufficient_stock_lists_each_sku_as_a_field_error() -> None:
    body = problem_for(InsufficientStock(["SKU-2", "SKU-1"])).body()
    assert body["errors"] == [
        {"field": "items", "sku": "SKU-1", "message": "not enough stock"},
        {"field": "items", "sku": "SKU-2", "message": "not enough stock"},
    ]
    assert body["skus"] == ["SKU-1", "SKU-2"]
    assert body["type"].endswith("/insufficient-stock")


def test_a_quantity_error_names_its_sku() -> None:
    body = problem_for(InvalidQuantity(5000, "SKU-1", 1000)).body()
    assert body["errors"][0]["sku"] == "SKU-1"
    assert "between 1 and 1000" in body["errors"][0]["message"]


def test_contention_asks_the_client_to_retry() -> None:
    assert problem_for(ContentionExhausted(40)).headers == {"Retry-After": "1"}


def test_a_problem_renders_as_problem_json() -> None:
    response = problem_for(EmptyCart()).response(instance="/checkout")
    assert response.status_code == 422
    assert response.media_type == PROBLEM_JSON
    body = json.loads(bytes(response.body))
    assert body["instance"] == "/checkout"
    assert body["title"] == "Unprocessable Content"
    assert body["errors"] == [{"field": "items", "message": str(EmptyCart())}]
