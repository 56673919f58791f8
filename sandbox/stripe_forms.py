"""Stripe's form encoding (``metadata[orderId]=7``, ``expand[0]=x``) and its parameter rules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from .store import JsonObject
from .stripe_errors import invalid_request, missing_param

_KEY_PART = re.compile(r"\[([^\]]*)\]")


def decode_form(raw: str) -> JsonObject:
    """Nested params from ``a[b][0][c]=v`` pairs, lists where every index is numeric."""
    root: JsonObject = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        _assign(root, _split_key(key), value)
    decoded: JsonObject = _listify(root)
    return decoded


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_KEY_PART.findall("[" + rest)]


def _assign(node: JsonObject, parts: list[str], value: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "":
            part = str(sum(1 for k in node if k.isdigit()))
        if last:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(child) for key, child in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def reject_unknown(params: JsonObject, allowed: Iterable[str]) -> None:
    allowed_set = set(allowed)
    for name in params:
        if name not in allowed_set:
            raise invalid_request(
                f"Received unknown parameter: {name}", param=name, code="parameter_unknown"
            )


def integer_param(params: JsonObject, name: str, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing_param(name)
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise invalid_request(
            f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        ) from None
    if number < 0:
        raise invalid_request(
            "This value must be greater than or equal to 0.",
            param=name,
            code="parameter_invalid_integer",
        )
    return number


def positive_amount(params: JsonObject, name: str, *, required: bool = False) -> int | None:
    amount = integer_param(params, name, required=required)
    if amount is not None and amount < 1:
        raise invalid_request(
            "This value must be greater than or equal to 1.",
            param=name,
            code="parameter_invalid_integer",
        )
    return amount


def boolean_param(params: JsonObject, name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value in ("true", True):
        return True
    if value in ("false", False):
        return False
    raise invalid_request(f"Invalid boolean: {value}", param=name)


def string_param(params: JsonObject, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing_param(name)
        return None
    if not isinstance(value, str):
        raise invalid_request(f"Invalid string: {value!r}", param=name)
    return value


def enum_param(params: JsonObject, name: str, choices: tuple[str, ...]) -> str | None:
    value = string_param(params, name)
    if value is not None and value not in choices:
        raise invalid_request(
            f"Invalid {name}: must be one of {', '.join(choices)}",
            param=name,
            code="parameter_invalid_string",
        )
    return value


def currency_param(params: JsonObject, name: str = "currency") -> str:
    value = string_param(params, name, required=True)
    assert value is not None
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid_request(f"Invalid currency: {value.lower()}.", param=name)
    return value.lower()


def metadata_param(params: JsonObject, name: str = "metadata") -> dict[str, str]:
    """Stripe metadata: up to 50 keys of at most 40 characters, values of at most 500."""
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid_request("Invalid object", param=name)
    if len(value) > 50:
        raise invalid_request("Metadata may have at most 50 keys.", param=name)
    metadata: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid_request("Invalid object", param=f"{name}[{key}]")
        if len(key) > 40:
            raise invalid_request(
                "Metadata keys must be at most 40 characters long.", param=f"{name}[{key}]"
            )
        if len(item) > 500:
            raise invalid_request(
                "Metadata values must be at most 500 characters long.", param=f"{name}[{key}]"
            )
        if item != "":
            metadata[key] = item
    return metadata


def expand_param(params: JsonObject) -> list[str]:
    value = params.get("expand")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise invalid_request("Invalid array", param="expand")
