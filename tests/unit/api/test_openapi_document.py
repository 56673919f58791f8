"""The OpenAPI document is built from the operation registry, without a server."""

from __future__ import annotations

from api.app import OPERATIONS
from api.openapi import build_document
from api.schemas import CheckoutBody


def test_the_document_uses_the_validating_models() -> None:
    document = build_document(OPERATIONS)
    schemas = document["components"]["schemas"]
    expected = CheckoutBody.model_json_schema(ref_template="#/components/schemas/{model}")
    expected_defs = expected.pop("$defs")
    assert schemas["CheckoutBody"] == expected
    assert schemas["CartItemIn"] == expected_defs["CartItemIn"]
    # The bounds the domain enforces (with a 422) are stated for clients.
    assert schemas["CartItemIn"]["properties"]["quantity"] == {
        "title": "Quantity",
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
    }
    assert schemas["CheckoutBody"]["properties"]["items"]["maxItems"] == 100
    assert schemas["CheckoutBody"]["additionalProperties"] is False


def test_each_operation_appears_once_with_a_unique_id() -> None:
    document = build_document(OPERATIONS)
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids)) == len(OPERATIONS)


def test_path_parameters_are_uuids() -> None:
    document = build_document(OPERATIONS)
    parameters = document["paths"]["/orders/{orderId}"]["get"]["parameters"]
    path_parameter = next(p for p in parameters if p["in"] == "path")
    assert path_parameter == {
        "name": "orderId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    assert {p["name"] for p in parameters if p["in"] == "query"} == {"minPosition"}
