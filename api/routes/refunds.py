"""POST /admin/orders/{orderId}/refunds: an operator gives money back.

The answer is 202: the refund is promised (``Payment.RefundRequested``); the worker asks
the provider and the provider's answer, or its webhook, settles it.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, authenticate, require_role
from api.consistency import position_headers
from api.operations import LOG_POSITION_HEADER, Access, Operation
from api.problems import Problem
from api.representations import json_response
from api.schemas import RefundAccepted, RefundBody
from api.validation import parse_body
from application.refunds import RefundRequested
from domain import RefundExceedsCaptured
from infrastructure.bootstrap import Container

log = structlog.get_logger(__name__)


def _request(container: Container, order_id: UUID, body: RefundBody) -> RefundRequested:
    try:
        return container.refunds.request(order_id, body.amount, body.reason)
    except RefundExceedsCaptured as exc:
        # A conflict with the payment's state (what is left to refund), not a bad request.
        raise Problem(
            409,
            "Refund Exceeds Captured",
            str(exc),
            kind=exc.code,
            errors=[{"field": "amount", "message": str(exc)}],
            refundable=exc.refundable,
        ) from None


async def request_refund(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    body = await parse_body(request, RefundBody)
    order_id: UUID = request.path_params["orderId"]
    container: Container = request.app.state.container
    requested = await run_in_threadpool(_request, container, order_id, body)
    log.info(
        "refund requested",
        order=str(order_id),
        refund=requested.refund_id,
        amount=requested.amount,
        reason=requested.reason,
        by=principal.subject,
    )
    accepted = RefundAccepted(
        refund_id=requested.refund_id, order_id=order_id, amount=requested.amount, status="pending"
    )
    return json_response(accepted, status=202, headers=position_headers(requested.position))


OPERATIONS = [
    Operation(
        "POST",
        "/admin/orders/{orderId}/refunds",
        request_refund,
        operation_id="requestRefund",
        summary="Refund part or all of a paid order; the provider is asked asynchronously.",
        access=Access.ADMIN,
        status=202,
        request=RefundBody,
        response=RefundAccepted,
        problems=(400, 401, 403, 404, 409, 413, 503),
        response_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
    )
]
