"""What auditors read (adr/0015): an order's whole history, and the export of the log.

Both are for ``admin`` and the read-only ``auditor`` role. The history is rebuilt from the
event store on each request (never from a view), so it needs no log position to be current.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api.auth import ADMIN, AUDITOR, require_role
from api.operations import Access, Operation
from api.rate_limits import authenticate_read
from api.representations import json_response
from api.schemas import AuditExportQuery, OrderHistoryOut, OrderHistoryQuery
from api.services import services_of
from api.validation import invalid_request, validate_query

NDJSON = "application/x-ndjson"


async def order_history(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    query = validate_query(OrderHistoryQuery, request.query_params)
    histories = services_of(request).order_histories
    document = await run_in_threadpool(
        histories.history, request.path_params["orderId"], query.at, evidence=query.evidence
    )
    return json_response(OrderHistoryOut.model_validate(document.to_json()))


def _ndjson(lines: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for line in lines:
        yield json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


async def audit_export(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    query = validate_query(AuditExportQuery, request.query_params)
    if query.since is not None and query.until is not None and query.since > query.until:
        detail = "since must not be after until"
        raise invalid_request(detail, [{"field": "since", "message": detail}])
    export = services_of(request).audit_export
    # Called here, not in the stream: an unknown order is a 404 before the first byte.
    lines = await run_in_threadpool(export.lines, query.since, query.until, query.order)
    # A sync iterator: Starlette runs each step in its thread pool, off the event loop.
    return StreamingResponse(_ndjson(lines), media_type=NDJSON)


OPERATIONS = [
    Operation(
        "GET",
        "/admin/orders/{orderId}/history",
        order_history,
        operation_id="getOrderHistory",
        summary=(
            "An order's whole history in time order: its events, its payment's, the stock "
            "movements it caused, webhooks, provider calls and Kafka publications."
        ),
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        description=(
            "Each entry has its time, actor, name, version and a summary; `data` is the raw "
            "form. With `at`, `state` holds the order and payment as their events left them "
            "at that instant (`existed` false before the order was placed). Rebuilt from the "
            "event store on each request. A malformed `at` is 400; an unknown order 404."
        ),
        query=OrderHistoryQuery,
        response=OrderHistoryOut,
        problems=(400, 401, 403, 404, 429, 503),
        tags=("admin", "audit"),
    ),
    Operation(
        "GET",
        "/admin/audit/export",
        audit_export,
        operation_id="exportAuditLog",
        summary=(
            "Events with their actors, evidence references and hash-chain links, as JSON "
            "Lines (schemas/audit.export.v1.json), in log order."
        ),
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        description=(
            "Streams the log up to its head when the request began; `since` and `until` "
            "bound the events' times, `order` keeps one order's events (404 if unknown)."
        ),
        query=AuditExportQuery,
        media_type=NDJSON,
        problems=(400, 401, 403, 404, 429, 503),
        tags=("admin", "audit"),
    ),
]
