"""Manual capture: an operator captures a held authorization, or voids it.

``POST .../capture`` answers 202: the capture is promised (``Payment.CaptureRequested``,
naming the admin and their reason); the worker asks the provider, and its answer or its
webhook confirms the order with the amount captured. ``POST .../void`` cancels the order
at once (its stock released, its payment ``canceled``); the worker then asks the provider
to release the authorization. Both need an ``Idempotency-Key``: the same key and body
answer the first answer again, the same key with another body is 409 (adr/0027).
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
from api.schemas import CaptureAccepted, CaptureBody, VoidAccepted, VoidBody
from api.services import services_of
from api.validation import parse_body
from domain import actors

log = structlog.get_logger(__name__)


async def capture(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    key = required_idempotency_key(request)
    body = await parse_body(request, CaptureBody)
    order_id: UUID = request.path_params["orderId"]
    actor = actors.admin(principal.subject)  # adr/0016
    captures = services_of(request).manual_captures
    accepted = await run_in_threadpool(
        captures.capture, order_id, body.amount, body.reason, actor, key
    )
    log.info(
        "capture requested",
        order=str(order_id),
        capture=accepted.capture_id,
        amount=accepted.amount,
        reason=body.reason,
        by=actor,
        replayed=accepted.replayed,
    )
    answer = CaptureAccepted(
        capture_id=accepted.capture_id, order_id=order_id, amount=accepted.amount, status="pending"
    )
    headers = position_headers(accepted.position, accepted.replayed)
    return json_response(answer, status=202, headers=headers)


async def void(request: Request) -> Response:
    principal = require_role(authenticate(request), ADMIN)
    key = required_idempotency_key(request)
    body = await parse_body(request, VoidBody)
    order_id: UUID = request.path_params["orderId"]
    actor = actors.admin(principal.subject)
    voided = await run_in_threadpool(
        services_of(request).manual_captures.void, order_id, body.reason, actor, key
    )
    log.info("authorization voided", order=str(order_id), reason=body.reason, by=actor)
    headers = position_headers(voided.position, voided.replayed)
    return json_response(VoidAccepted(order_id=order_id, status="CANCELLED"), headers=headers)


OPERATIONS = [
    Operation(
        "POST",
        "/admin/orders/{orderId}/capture",
        capture,
        operation_id="captureOrder",
        summary=(
            "Capture an authorized (manual-capture) order, all or part of it, once per "
            "Idempotency-Key; the provider is asked asynchronously."
        ),
        access=Access.ADMIN,
        status=202,
        request=CaptureBody,
        response=CaptureAccepted,
        description=(
            "409 when the payment is not `authorized` (never authorized, captured already, "
            "voided), while another capture is under way, for more than the authorization "
            "holds, or for part of a Razorpay authorization (Razorpay captures only the "
            "whole). The order becomes PAYMENT_CONFIRMED, and `OrderConfirmed` carries the "
            "amount captured, once the provider has captured it."
        ),
        problems=(400, 401, 403, 404, 409, 413, 422, 503),
        request_headers=(REQUIRED_IDEMPOTENCY_KEY_HEADER,),
        response_headers=(LOG_POSITION_HEADER, REPLAYED_HEADER),
        tags=("admin",),
        links=order_links("getOrder", "getOrderPayment", "getOrderHistory"),
    ),
    Operation(
        "POST",
        "/admin/orders/{orderId}/void",
        void,
        operation_id="voidOrder",
        summary=(
            "Release an authorized (manual-capture) order's authorization and cancel the "
            "order, once per Idempotency-Key."
        ),
        access=Access.ADMIN,
        request=VoidBody,
        response=VoidAccepted,
        description=(
            "409 when the payment is not `authorized` (captured: refund it instead) or a "
            "capture is under way."
        ),
        problems=(400, 401, 403, 404, 409, 413, 422, 503),
        request_headers=(REQUIRED_IDEMPOTENCY_KEY_HEADER,),
        response_headers=(LOG_POSITION_HEADER, REPLAYED_HEADER),
        tags=("admin",),
        links=order_links("getOrder", "getOrderPayment", "getOrderHistory"),
    ),
]
