"""Stripe's list endpoints: newest first, ``created`` ranges, ``limit`` and id cursors."""

from __future__ import annotations

import copy
from typing import Any

from . import stripe_objects as objects
from .store import JsonObject
from .stripe_errors import invalid_request, resource_missing
from .stripe_forms import integer_param, string_param

LIST_PARAMS = ("created", "ending_before", "expand", "limit", "starting_after")
_RANGE = ("gt", "gte", "lt", "lte")


def list_page(items: list[JsonObject], params: JsonObject, kind: str, url: str) -> JsonObject:
    """One page of ``items`` (given newest first) as ``GET url`` with ``params`` answers it."""
    limit = integer_param(params, "limit") or 10
    if not 1 <= limit <= 100:
        raise invalid_request("This value must be between 1 and 100.", param="limit")
    items = [item for item in items if _created_matches(item["created"], params.get("created"))]
    items = _after_cursor(
        items, string_param(params, "starting_after"), string_param(params, "ending_before"), kind
    )
    return objects.list_object(url, copy.deepcopy(items[:limit]), len(items) > limit)


def _created_matches(created: int, wanted: Any) -> bool:
    if wanted is None or wanted == "":
        return True
    if not isinstance(wanted, dict):
        return created == _integer(wanted, "created")
    bounds = {op: _integer(value, f"created[{op}]") for op, value in wanted.items()}
    unknown = sorted(set(bounds) - set(_RANGE))
    if unknown:
        raise invalid_request(
            f"Received unknown parameter: created[{unknown[0]}]", param=f"created[{unknown[0]}]"
        )
    checks = {
        "gt": lambda b: created > b,
        "gte": lambda b: created >= b,
        "lt": lambda b: created < b,
        "lte": lambda b: created <= b,
    }
    return all(checks[op](bound) for op, bound in bounds.items())


def _integer(value: Any, param: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise invalid_request(
            f"Invalid integer: {value}", param=param, code="parameter_invalid_integer"
        ) from None


def _after_cursor(
    items: list[JsonObject], starting_after: str | None, ending_before: str | None, kind: str
) -> list[JsonObject]:
    ids = [item["id"] for item in items]
    for cursor, param in ((starting_after, "starting_after"), (ending_before, "ending_before")):
        if cursor is not None and cursor not in ids:
            raise resource_missing(kind, cursor, param)
    if starting_after is not None:
        return items[ids.index(starting_after) + 1 :]
    if ending_before is not None:
        return items[: ids.index(ending_before)]
    return items
