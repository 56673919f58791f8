"""Refunds: an operator gives money back, once per Idempotency-Key, and lists what went back.

``POST`` answers 202: the refund is promised (``Payment.RefundRequested``, naming the admin
and their reason); the worker asks the provider and the provider's answer, or its webhook,
settles it. ``GET`` lists every refund of the order's payment from the payment view,
including those the engine made by itself (late or duplicate charges) or found at the
provider (dashboard refunds).
"""

from __future__ import annotations

from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, AUDITOR, authenticate, require_role
from api.consistency import await_views, position_headers
from api.operations import (
    LOG_POSITION_HEADER,
    REPLAYED_HEADER,
    REQUIRED_IDEMPOTENCY_KEY_HEADER,
    Access,
    Operation,
    order_links,
)
from api.problems import Problem
from api.rate_limits import authenticate_read
from api.representations import json_response
from api.schemas import IDEMPOTENCY_KEY, RefundAccepted, RefundBody, RefundList, RefundOut
from api.services import ApiServices, services_of
from api.validation import invalid_request, parse_body, validate_header
from application.errors import OrderNotFound
from application.refunds import RefundRequested
from domain import RefundExceedsCaptured, actors
from projections import PaymentsView

log = structlog.get_logger(__name__)


def required_idempotency_key(request: Request) -> str:
    """The header a command that moves money cannot go without (400 when missing)."""
    name = REQUIRED_IDEMPOTENCY_KEY_HEADER.name
    value = request.headers.get(name)
    if value is None:
        raise invalid_request(
            f"Send an {name} header: money moves once per key, however often the request "
            "is retried.",
            [{"field": name, "message": "is required"}],
        )
    return validate_header(IDEMPOTENCY_KEY, name, value)


def _request(
    services: ApiServices, order_id: UUID, body: RefundBody, actor: str, key: str
) -> RefundRequested:
    try:
        return services.refunds.request(order_id, body.amount, body.reason, actor, key)
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
    key = required_idempotency_key(request)
    body = await parse_body(request, RefundBody)
    order_id: UUID = request.path_params["orderId"]
    services = services_of(request)
    actor = actors.admin(principal.subject)  # adr/0016
    requested = await run_in_threadpool(_request, services, order_id, body, actor, key)
    log.info(
        "refund requested",
        order=str(order_id),
        refund=requested.refund_id,
        amount=requested.amount,
        reason=requested.reason,
        by=actor,
        replayed=requested.replayed,
    )
    accepted = RefundAccepted(
        refund_id=requested.refund_id, order_id=order_id, amount=requested.amount, status="pending"
    )
    headers = position_headers(requested.position, requested.replayed)
    return json_response(accepted, status=202, headers=headers)


async def list_refunds(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    order_id: UUID = request.path_params["orderId"]
    await await_views(request, [PaymentsView.name], None, fresh=True)
    refunds = await run_in_threadpool(services_of(request).payment_queries.refunds, order_id)
    if refunds is None:
        raise OrderNotFound(order_id)
    items = [RefundOut.model_validate(refund) for refund in refunds]
    return json_response(RefundList(order_id=order_id, items=items))


OPERATIONS = [
    Operation(
        "POST",
        "/admin/orders/{orderId}/refunds",
        request_refund,
        operation_id="requestRefund",
        summary=(
            "Refund part or all of a paid order, once per Idempotency-Key; the provider is "
            "asked asynchronously."
        ),
        access=Access.ADMIN,
        status=202,
        request=RefundBody,
        response=RefundAccepted,
        problems=(400, 401, 403, 404, 409, 413, 503),
        request_headers=(REQUIRED_IDEMPOTENCY_KEY_HEADER,),
        response_headers=(LOG_POSITION_HEADER, REPLAYED_HEADER),
        tags=("admin",),
        links=order_links("listRefunds", "getOrder", "getOrderPayment", "getOrderHistory"),
    ),
    Operation(
        "GET",
        "/admin/orders/{orderId}/refunds",
        list_refunds,
        operation_id="listRefunds",
        summary="Every refund of the order's payment: amount, reason, actor, status.",
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        description=(
            "Reflects every write answered before this request began (a refund just "
            "requested is listed), waiting at most 5 s for the views, else 503."
        ),
        response=RefundList,
        problems=(400, 401, 403, 404, 429, 503),
        request_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
    ),
]
