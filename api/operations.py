"""Operations: one declaration per route, read both by the router and by /openapi.json.

Each route module lists its `OPERATIONS` next to its endpoints. `create_app` mounts their
routes and `api.openapi` describes them, so an endpoint cannot exist undocumented and the
document names the very models that validate the requests.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.schemas import IDEMPOTENCY_KEY, LOG_POSITION

Endpoint = Callable[[Request], Awaitable[Response]]

_PATH_PARAM = re.compile(r"{(\w+)}")
# Path parameters are UUIDs (anything else is a 404), except these text ones, and these
# numbers (routed as text: the endpoint answers 404 for one that is not such a number).
TEXT_PATH_PARAMS = {
    "sku": {"type": "string", "minLength": 1, "maxLength": 64},
    # "<provider>:<gateway payment id>" or "<provider>:<kind>:<provider object id>"
    "reviewId": {"type": "string", "minLength": 1, "maxLength": 300},
}
NUMBER_PATH_PARAMS = {"webhookId": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}
PATH_PARAM_SCHEMAS: dict[str, dict[str, Any]] = TEXT_PATH_PARAMS | NUMBER_PATH_PARAMS


class Access(StrEnum):
    PUBLIC = "public"
    CUSTOMER = "customer"  # any valid bearer token (the endpoint decides what it may see)
    ADMIN = "admin"  # a bearer token with one of the operation's roles (default: admin)


@dataclass(frozen=True)
class Header:
    name: str
    description: str
    schema: dict[str, Any]
    required: bool = False


IDEMPOTENCY_KEY_HEADER = Header(
    "Idempotency-Key",
    "Replays the first response for a repeat of the same request; 409 with another body.",
    IDEMPOTENCY_KEY.json_schema(),
)
REQUIRED_IDEMPOTENCY_KEY_HEADER = Header(
    "Idempotency-Key",
    "Required: money moves once per key. The same key and body replay the first answer; "
    "the same key with another body is 409.",
    IDEMPOTENCY_KEY.json_schema(),
    required=True,
)
LOG_POSITION_HEADER = Header(
    "X-Log-Position",
    "The event-log position of a write; every write answers with it. Sent back on a read "
    "(or as `?minPosition=`), the read reflects that write: it waits, at most 5 s, until "
    "the views it reads include it, else 503 with Retry-After. A position beyond the log "
    "head (one no write answered) is 400 at once. Single-order reads reflect every write "
    "answered before they began even without it; lists and the catalog only with it.",
    LOG_POSITION.json_schema(),
)
COMMAND_KEY_HEADER = Header(
    "Idempotency-Key",
    "Required: the same key and body answer the first answer again (`Idempotent-Replayed: "
    "true`), doing nothing again; the same key with another body is 409.",
    IDEMPOTENCY_KEY.json_schema(),
    required=True,
)
REPLAYED_HEADER = Header(
    "Idempotent-Replayed",
    "`true` when the response replays an earlier request with the same Idempotency-Key.",
    {"type": "string", "enum": ["true"]},
)


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: a value of the success response that another operation takes.

    Clients (and stateful fuzzers) follow them: the order a checkout answers with is the
    one to read, pay, cancel or refund.
    """

    operation_id: str
    parameter: str = "orderId"
    expression: str = "$response.body#/orderId"


def order_links(
    *operation_ids: str, expression: str = "$response.body#/orderId"
) -> tuple[Link, ...]:
    return tuple(Link(operation_id, expression=expression) for operation_id in operation_ids)


@dataclass(frozen=True)
class Operation:
    """A route and its contract. Path parameters (`{orderId}`) are UUIDs: others are 404."""

    method: str
    path: str
    endpoint: Endpoint
    operation_id: str
    summary: str
    access: Access
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses with the same response body
    response: type[BaseModel] | None = None
    request: type[BaseModel] | None = None
    body_required: bool = True  # False: no body (or an empty one) is the model's defaults
    query: type[BaseModel] | None = None
    problems: tuple[int, ...] = ()
    request_headers: tuple[Header, ...] = ()
    response_headers: tuple[Header, ...] = ()
    media_type: str = "application/json"
    tags: tuple[str, ...] = field(default=())
    description: str = ""  # more than the summary: who may call it, what it reflects
    roles: tuple[str, ...] = ("admin",)  # for Access.ADMIN: any one of these
    links: tuple[Link, ...] = ()  # what the success response feeds

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)

    @property
    def route(self) -> Route:
        starlette_path = _PATH_PARAM.sub(
            lambda m: f"{{{m[1]}}}" if m[1] in PATH_PARAM_SCHEMAS else f"{{{m[1]}:uuid}}", self.path
        )
        return Route(starlette_path, self.endpoint, methods=[self.method], name=self.operation_id)
