"""/openapi.json documents every route with the schemas the API really enforces."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

from api.app import OPERATIONS, create_app
from api.pages.routes import routes as pages
from tests.e2e.conftest import RunningApi
from tests.e2e.openapi_schemas import validate


@pytest.fixture
def document(api: RunningApi) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _schema(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    content = document["paths"][path][method]["responses"][status]["content"]
    schema: dict[str, Any] = next(iter(content.values()))["schema"]
    return schema


def _request_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def test_every_mounted_route_is_documented(api: RunningApi, document: dict[str, Any]) -> None:
    app = create_app(api.container)
    mounted = {
        (method.lower(), route.path.replace(":uuid", ""))
        for route in app.routes
        if isinstance(route, Route) and route not in pages  # HTML pages, not the API
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (method, path) for path, operations in document["paths"].items() for method in operations
    }
    assert mounted == documented
    assert {
        "/checkout",
        "/orders/{orderId}",
        "/orders/{orderId}/payments",
        "/orders/{orderId}/cancel",
        "/products",
        "/admin/orders",
        "/admin/products",
        "/openapi.json",
        "/healthz",
    } <= set(document["paths"])
    assert document["openapi"].startswith("3.1")
    assert len(OPERATIONS) == len(documented)


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    names = {ref.removeprefix("#/components/schemas/") for ref in refs(document)}
    assert names <= set(schemas)
    assert "$defs" not in str(document)


def test_checkout_is_described_with_its_errors_and_headers(document: dict[str, Any]) -> None:
    operation = document["paths"]["/checkout"]["post"]
    assert {"201", "400", "401", "409", "413", "422", "429"} <= set(operation["responses"])
    problem = operation["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    assert "X-Log-Position" in operation["responses"]["201"]["headers"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/products"]["get"]["security"] == []
    listing = document["paths"]["/admin/orders"]["get"]["parameters"]
    assert {p["name"] for p in listing} >= {"status", "limit", "cursor", "X-Log-Position"}


def test_the_documented_request_schema_accepts_and_rejects_like_the_api(
    document: dict[str, Any],
) -> None:
    schema = _request_schema(document, "/checkout")
    good = {"items": [{"sku": "SKU-1", "quantity": 2}], "provider": "stripe"}
    assert validate(schema, good, document) == []
    assert validate(schema, {"items": [], "provider": "razorpay"}, document) == []
    for bad in (
        {"items": [{"sku": "SKU-1", "quantity": "2"}], "provider": "stripe"},
        {"items": [{"sku": "SKU-1", "quantity": True}], "provider": "stripe"},
        {"items": [{"sku": "SKU-1", "quantity": 2}], "provider": "paypal"},
        {"items": [{"sku": "SKU-1", "quantity": 2}], "provider": "stripe", "total": 1},
    ):
        assert validate(schema, bad, document), bad
    upload = _request_schema(document, "/admin/products")
    product = {
        "sku": "A",
        "name": "a",
        "vendorId": "v",
        "unitAmount": 1,
        "currency": "USD",
        "stock": 1,
    }
    assert validate(upload, product, document) == []
    assert validate(upload, [product, product], document) == []


def test_live_responses_conform_to_the_documented_schemas(
    api: RunningApi, document: dict[str, Any]
) -> None:
    placed = api.checkout("cust-doc", [{"sku": "SKU-1", "quantity": 1}])
    assert validate(_schema(document, "/checkout", "post", "201"), placed.json(), document) == []
    order_id = placed.json()["orderId"]
    headers = api.auth("cust-doc") | {"X-Log-Position": placed.headers["X-Log-Position"]}
    reads = {
        "/orders/{orderId}": api.client.get(f"/orders/{order_id}", headers=headers),
        "/orders/{orderId}/payments": api.client.get(
            f"/orders/{order_id}/payments", headers=headers
        ),
    }
    for path, response in reads.items():
        assert validate(_schema(document, path, "get", "200"), response.json(), document) == []
    listing = api.client.get("/admin/orders", headers=headers | api.admin())
    assert listing.status_code == 200
    assert (
        validate(_schema(document, "/admin/orders", "get", "200"), listing.json(), document) == []
    )
    problem = api.checkout("cust-doc", [{"sku": "NOPE", "quantity": 1}])
    assert validate(_schema(document, "/checkout", "post", "422"), problem.json(), document) == []


def test_links_lead_from_a_new_order_to_what_can_be_done_with_it(
    document: dict[str, Any],
) -> None:
    operations = {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }
    for operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target["parameters"]}
                for parameter in link["parameters"]:
                    assert parameter.rpartition(".")[2] in names, (link, parameter)
    placed = operations["checkout"]["responses"]["201"]["links"]
    assert {"getOrder", "getOrderPayment", "cancelOrder", "requestRefund"} <= set(placed)
    assert placed["getOrder"]["parameters"] == {"orderId": "$response.body#/orderId"}
    refunded = operations["requestRefund"]["responses"]["202"]["links"]
    assert "listRefunds" in refunded
