"""POST /webhooks/stripe and /webhooks/razorpay: provider events, signed.

The body is read as raw bytes and handed on untouched: the signature covers those bytes,
and the inbox keeps them. What happens next is the reception's job
(application.webhook_deliveries).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.operations import Access, Header, Operation
from api.problems import Problem
from api.representations import json_response
from api.schemas import WebhookReceipt
from api.services import ApiServices, services_of
from application.ports import DeliveryReceipt, DeliveryReception
from application.webhook_deliveries import (
    RAZORPAY_EVENT_ID,
    RAZORPAY_SIGNATURE,
    STRIPE_SIGNATURE,
    InvalidSignature,
    RazorpayEventEnvelope,
    RejectReason,
    StripeEventEnvelope,
)
from domain import Provider

NOT_CONFIGURED_RETRY_AFTER = "60"


def _reception(services: ApiServices) -> DeliveryReception:
    return services.webhooks  # built on first use: it may create the inbox table


async def _receive(request: Request, provider: Provider) -> Response:
    body = await request.body()
    reception = await run_in_threadpool(_reception, services_of(request))
    try:
        receipt: DeliveryReceipt = await run_in_threadpool(
            reception.receive, provider.value, body, request.headers
        )
    except InvalidSignature as exc:
        if exc.reason is RejectReason.NOT_CONFIGURED:
            raise Problem(
                503,
                "Webhooks Not Configured",
                f"{provider.value} webhooks cannot be verified here: {exc.detail}.",
                kind="webhooks-not-configured",
                headers={"Retry-After": NOT_CONFIGURED_RETRY_AFTER},
            ) from None
        raise Problem(
            400,
            "Invalid Webhook",
            "The webhook signature is missing, invalid or too old, or the body is no event.",
            kind="invalid-webhook",
            reason=exc.reason.value,
        ) from None
    out = WebhookReceipt(received=True, duplicate=receipt.duplicate, status=str(receipt.status))
    return json_response(out)


async def stripe_webhook(request: Request) -> Response:
    return await _receive(request, Provider.STRIPE)


async def razorpay_webhook(request: Request) -> Response:
    return await _receive(request, Provider.RAZORPAY)


STRIPE_SIGNATURE_HEADER = Header(
    STRIPE_SIGNATURE,
    '`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with STRIPE_WEBHOOK_SECRET; '
    "older than 300 s is refused.",
    {"type": "string"},
)
RAZORPAY_SIGNATURE_HEADER = Header(
    RAZORPAY_SIGNATURE,
    "Hex HMAC-SHA256 of the raw body with RAZORPAY_WEBHOOK_SECRET.",
    {"type": "string"},
)
RAZORPAY_EVENT_ID_HEADER = Header(
    RAZORPAY_EVENT_ID,
    "Razorpay's event id, the same on every redelivery: events are deduplicated on it.",
    {"type": "string"},
)
_PROBLEMS = (400, 413, 503)

OPERATIONS = [
    Operation(
        "POST",
        "/webhooks/stripe",
        stripe_webhook,
        operation_id="stripeWebhook",
        summary="Stripe events (signed); 200 once recorded, duplicates included.",
        access=Access.PUBLIC,
        request=StripeEventEnvelope,
        response=WebhookReceipt,
        problems=_PROBLEMS,
        request_headers=(STRIPE_SIGNATURE_HEADER,),
        tags=("webhooks",),
    ),
    Operation(
        "POST",
        "/webhooks/razorpay",
        razorpay_webhook,
        operation_id="razorpayWebhook",
        summary="Razorpay events (signed); 200 once recorded, duplicates included.",
        access=Access.PUBLIC,
        request=RazorpayEventEnvelope,
        response=WebhookReceipt,
        problems=_PROBLEMS,
        request_headers=(RAZORPAY_SIGNATURE_HEADER, RAZORPAY_EVENT_ID_HEADER),
        tags=("webhooks",),
    ),
]
