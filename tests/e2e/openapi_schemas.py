"""Validate JSON values against schemas published in the served OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def validate(schema: dict[str, Any], value: Any, document: dict[str, Any]) -> list[str]:
    """Every way `value` breaks `schema` ([] when it conforms).

    OpenAPI 3.1 schemas are JSON Schema 2020-12; their `#/components/...` references are
    resolved by giving the schema the document's components as its own.
    """
    rooted = {**schema, "components": document.get("components", {})}
    validator = Draft202012Validator(rooted)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '$'}: {error.message}"
        for error in validator.iter_errors(value)
    ]
