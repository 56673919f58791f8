"""GET /openapi.json: an OpenAPI 3.1 document generated from the operations registry.

Schemas come from the pydantic models that validate requests and render responses
(`model_json_schema`), with nested definitions merged into `components.schemas`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.operations import PATH_PARAM_SCHEMAS, Access, Header, Operation
from api.problems import PROBLEM_JSON
from api.schemas import ProblemDetails

REF = "#/components/schemas/{model}"
DESCRIPTION = """Checkout, orders and payments. Errors are application/problem+json; a
method a path does not serve is 405 with `Allow`.

Consistency: every write answers with `X-Log-Position`. Reads come from views that follow
the event log a few milliseconds behind. A single-order read (`GET /orders/{orderId}`,
`/payments`, `/admin/orders/{orderId}/refunds`) reflects every write answered before it
began. Any read given a position (the `X-Log-Position` header or `?minPosition=`) reflects
that write; lists and the catalog reflect writes only that way. A read waits at most 5 s
for the views, then answers 503 with Retry-After, never stale data; a position beyond the
log head is 400 at once.

Roles: customers (no role) read and change their own orders; `admin` everything;
`auditor` reads any order, its payment and refunds, the order listing, order histories
and the audit export; `service` reads any order and its payment. `auditor` and `service`
tokens change nothing (403)."""
BEARER = "bearerAuth"

PROBLEM_TITLES = {
    400: (
        "Malformed JSON, a body, parameter or header that does not match the schema, or a "
        "log position beyond the log head; `errors` names each bad field"
    ),
    401: "Missing, malformed, expired or wrongly signed bearer token",
    403: "The token lacks the required role, or is read-only (`service`, `auditor`)",
    404: "No such resource (or not yours)",
    409: "Conflict with the current state",
    413: "Request body over 64 KiB",
    422: "The request breaks a business rule",
    429: "Rate limited; see Retry-After",
    503: "Busy, database unavailable or views behind; retry after Retry-After seconds",
}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 1}}}
_PROBLEM_HEADERS = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}


class Components:
    """Collects component schemas while operations reference them."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(
        self, model: type[BaseModel], mode: Literal["validation", "serialization"]
    ) -> dict[str, str]:
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        self.schemas.update(schema.pop("$defs", {}))
        self.schemas[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}


def _header_parameters(headers: Iterable[Header]) -> list[dict[str, Any]]:
    return [
        {
            "name": h.name,
            "in": "header",
            "required": h.required,
            "description": h.description,
            "schema": h.schema,
        }
        for h in headers
    ]


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAM_SCHEMAS.get(name, {"type": "string", "format": "uuid"}),
        }
        for name in operation.path_params
    ]
    if operation.query is not None:
        schema = operation.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    return parameters + _header_parameters(operation.request_headers)


def _responses(operation: Operation, components: Components) -> dict[str, Any]:
    success: dict[str, Any] = {"description": operation.summary}
    if operation.response is not None:
        schema = components.ref(operation.response, "serialization")
        success["content"] = {operation.media_type: {"schema": schema}}
    elif operation.media_type != "application/json":
        success["content"] = {operation.media_type: {"schema": {"type": "string"}}}
    if operation.response_headers:
        success["headers"] = {
            h.name: {"description": h.description, "schema": h.schema}
            for h in operation.response_headers
        }
    if operation.links:
        success["links"] = {
            link.operation_id: {
                "operationId": link.operation_id,
                "parameters": {link.parameter: link.expression},
            }
            for link in operation.links
        }
    responses = {str(operation.status): success}
    for status in operation.also:
        responses[str(status)] = success
    problem = components.ref(ProblemDetails, "serialization")
    for status in operation.problems:
        responses[str(status)] = {
            "description": PROBLEM_TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": problem}},
            "headers": _PROBLEM_HEADERS.get(status, {}),
        }
    return responses


def describe(operation: Operation, components: Components) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": list(operation.tags),
        "parameters": _parameters(operation),
        "responses": _responses(operation, components),
        "security": [] if operation.access is Access.PUBLIC else [{BEARER: []}],
    }
    description = _description(operation)
    if description:
        document["description"] = description
    if operation.request is not None:
        schema = components.ref(operation.request, "validation")
        document["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": schema}},
        }
    return document


def _description(operation: Operation) -> str:
    parts = [operation.description] if operation.description else []
    if operation.access is Access.ADMIN:
        roles = " or ".join(f"`{role}`" for role in operation.roles)
        parts.append(f"Needs a bearer token with the {roles} role.")
    return "\n\n".join(parts)


def build_document(operations: Iterable[Operation]) -> dict[str, Any]:
    components = Components()
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = describe(
            operation, components
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "checkout-engine",
            "version": "1.0.0",
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


async def openapi_json(request: Request) -> Response:
    document: dict[str, Any] = request.app.state.openapi
    return JSONResponse(document)


OPERATIONS = [
    Operation(
        "GET",
        "/openapi.json",
        openapi_json,
        operation_id="openapi",
        summary="This OpenAPI 3.1 document.",
        access=Access.PUBLIC,
        tags=("meta",),
    )
]
