"""Turning raw request parts into schema models, or into 400 problems naming each bad field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import Request

from api.problems import Problem

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# Tags of the one-or-many body union (schemas.ProductUpload): not part of the client's path.
_UNION_TAGS = frozenset({"one", "many"})


def field_path(loc: tuple[int | str, ...]) -> str:
    """("items", 0, "quantity") -> "items.0.quantity"; the whole body is "body"."""
    parts = [str(part) for part in loc]
    if parts and parts[0] in _UNION_TAGS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_errors(errors: list[ErrorDetails], prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"field": prefix + field_path(error["loc"]), "message": error["msg"]} for error in errors
    ]


def invalid_request(detail: str, errors: list[dict[str, Any]]) -> Problem:
    return Problem(400, "Invalid Request", detail, kind="invalid-request", errors=errors)


def validate_json(model: type[M], raw: bytes) -> M:
    """Parse and validate a JSON body: 400 "Malformed JSON" or 400 with every bad field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        malformed = [e for e in errors if e["type"] == "json_invalid"]
        if malformed:
            raise Problem(
                400,
                "Malformed JSON",
                "The request body is not valid JSON.",
                kind="malformed-json",
                errors=[{"field": "body", "message": malformed[0]["msg"]}],
            ) from None
        raise invalid_request(
            "The request body does not match the schema.", _field_errors(errors)
        ) from None


async def parse_body(request: Request, model: type[M]) -> M:
    return validate_json(model, await request.body())


def validate_query(model: type[M], params: Mapping[str, str]) -> M:
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise invalid_request("The query parameters are invalid.", _field_errors(errors)) from None


def validate_header(adapter: TypeAdapter[T], name: str, value: str) -> T:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        raise invalid_request(
            f"The {name} header is invalid.",
            [{"field": name, "message": error["msg"]} for error in errors],
        ) from None
