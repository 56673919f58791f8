"""An operator's marks on an order: a decision on record, once per Idempotency-Key.

``hold`` and ``release``, and ``paid_out_of_band`` (with its evidence), are commands with
events of their own (adr/0029); ``note`` and ``fulfilled_manually`` record the decision and
change nothing else. Every mark names the admin and their reason, and shows in the order's
history.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, authenticate, require_role
from api.consistency import position_headers
from api.operations import (
    LOG_POSITION_HEADER,
    REPLAYED_HEADER,
    REQUIRED_IDEMPOTENCY_KEY_HEADER,
    Access,
    Operation,
    order_links,
)
from api.representations import json_response
from api.routes.refunds import required_idempotency_key
from api.schemas import MarkBody, MarkOut
from api.services import services_of
from api.validation import parse_body
from domain import MarkKind, actors

log = structlog.get_logger(__name__)


async def mark_order(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    key = required_idempotency_key(request)
    body = await parse_body(request, MarkBody)
    order_id: UUID = request.path_params["orderId"]
    actor = actors.admin(principal.subject)
    marked = await run_in_threadpool(
        services_of(request).marks.mark,
        order_id,
        MarkKind(body.mark),
        body.reason,
        actor,
        key,
        body.evidence,
    )
    log.info("order marked", order=str(order_id), mark=body.mark, reason=body.reason, by=actor)
    headers = position_headers(marked.position, marked.replayed)
    answer = MarkOut(mark_id=marked.mark_id, order_id=order_id, mark=marked.kind.value)
    return json_response(answer, status=201, headers=headers)


OPERATIONS = [
    Operation(
        "POST",
        "/admin/orders/{orderId}/marks",
        mark_order,
        operation_id="markOrder",
        summary="Record an operator's decision on an order, once per Idempotency-Key.",
        access=Access.ADMIN,
        status=201,
        request=MarkBody,
        response=MarkOut,
        description=(
            "409 for a hold on an order on hold already or ended, a release of one not on "
            "hold, a payment out of band of an order not awaiting payment, or the key reused "
            "with another body; 422 for `paid_out_of_band` without `evidence`."
        ),
        problems=(400, 401, 403, 404, 409, 413, 422, 503),
        request_headers=(REQUIRED_IDEMPOTENCY_KEY_HEADER,),
        response_headers=(LOG_POSITION_HEADER, REPLAYED_HEADER),
        tags=("admin",),
        links=order_links("getOrder", "getOrderPayment", "getOrderHistory"),
    ),
]
