"""The customer paying: Razorpay's client-side proof, and Stripe's hosted Checkout page.

Neither confirms an order: only a provider's webhook does (adr/0008). Verify tells the
frontend that the proof checkout.js handed it is genuine, so it can show "processing"
rather than an error while the webhook is on its way.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.operations import Access, Operation
from api.pages.routes import order_page_path
from api.problems import Problem
from api.rate_limits import authenticate_write
from api.representations import json_response
from api.schemas import (
    CheckoutSessionBody,
    CheckoutSessionOut,
    PaymentVerified,
    RazorpayPaymentProof,
)
from api.services import ApiServices, services_of
from api.validation import invalid_request, parse_body, validate_json
from application.checkout_sessions import OpenedSession, ReturnUrls
from application.errors import PaymentProofRefused, WrongProvider
from application.payment_proofs import PaymentProof
from application.ports import (
    PermanentProviderError,
    ProviderNotConfigured,
    TransientProviderError,
)
from domain import InvalidTransition, PaymentStatus, Provider

log = structlog.get_logger(__name__)

_PROVIDER_NAMES = {Provider.STRIPE: "Stripe", Provider.RAZORPAY: "Razorpay"}


def _order_id(request: Request) -> UUID:
    order_id: UUID = request.path_params["orderId"]
    return order_id


def _not_configured(provider: Provider) -> Problem:
    return Problem(
        503,
        "Provider Not Configured",
        f"{_PROVIDER_NAMES[provider]} is not configured on this server.",
        kind="provider-not-configured",
        headers={"Retry-After": "60"},
    )


def _wrong_provider(error: WrongProvider) -> Problem:
    return Problem(
        422,
        "Wrong Provider",
        f"This order is paid with {error.provider.value}, not {error.expected.value}.",
        kind="wrong-provider",
    )


def _provider_unavailable(error: TransientProviderError) -> Problem:
    return Problem(503, "Provider Unavailable", error.reason, headers={"Retry-After": "2"})


# --- POST /orders/{orderId}/payments/verify ------------------------------------------------


def _bad_proof(error: PaymentProofRefused) -> Problem:
    return Problem(
        400,
        "Invalid Payment Signature",
        "The payment proof does not verify against this order's Razorpay order.",
        kind="invalid-payment-signature",
        errors=[{"field": error.field, "message": error.reason}],
    )


def _verify(
    services: ApiServices, order_id: UUID, customer_id: str, proof: PaymentProof
) -> PaymentStatus:
    try:
        return services.payment_proofs.verify(order_id, customer_id, proof)
    except PaymentProofRefused as exc:
        raise _bad_proof(exc) from None
    except WrongProvider as exc:
        raise _wrong_provider(exc) from None
    except ProviderNotConfigured:
        raise _not_configured(Provider.RAZORPAY) from None
    except TransientProviderError as exc:
        raise _provider_unavailable(exc) from None


async def verify_payment(request: Request) -> Response:
    principal = authenticate_write(request)
    body = await parse_body(request, RazorpayPaymentProof)
    proof = PaymentProof(body.razorpay_order_id, body.razorpay_payment_id, body.razorpay_signature)
    order_id = _order_id(request)
    services = services_of(request)
    try:
        status = await run_in_threadpool(_verify, services, order_id, principal.subject, proof)
    except Problem as problem:
        log.info("payment proof refused", order=str(order_id), detail=problem.detail)
        raise
    return json_response(PaymentVerified(verified=True, status=status))


# --- POST /orders/{orderId}/payments/checkout-session --------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _return_urls(request: Request, body: CheckoutSessionBody, order_id: UUID) -> ReturnUrls:
    """The body's URLs when they stay on an allowed origin (no open redirects)."""
    own = _origin(str(request.base_url))
    cors_origins = services_of(request).settings.cors_origins
    allowed = {own} | {origin.rstrip("/").lower() for origin in cors_origins}

    def pick(value: str | None, outcome: str, field: str) -> str:
        if value is None:
            # The demo storefront's order page, which polls the payment until it settles.
            return f"{own}{order_page_path(order_id)}?checkout={outcome}"
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or _origin(value) not in allowed:
            raise invalid_request(
                "Return URLs must stay on this API's origin or one of CORS_ORIGINS.",
                [{"field": field, "message": f"origin {_origin(value)} is not allowed"}],
            )
        return value

    return ReturnUrls(
        pick(body.success_url, "success", "successUrl"),
        pick(body.cancel_url, "cancel", "cancelUrl"),
    )


def _open_session(
    services: ApiServices, order_id: UUID, customer_id: str, urls: ReturnUrls
) -> OpenedSession:
    try:
        return services.hosted_checkout.open(order_id, customer_id, urls)
    except WrongProvider as exc:
        raise _wrong_provider(exc) from None
    except InvalidTransition as exc:
        raise Problem(
            409,
            "Conflict",
            f"The order is {exc.state}: only an unpaid order can be paid.",
            kind="invalid-transition",
        ) from None
    except ProviderNotConfigured:
        raise _not_configured(Provider.STRIPE) from None
    except TransientProviderError as exc:
        raise _provider_unavailable(exc) from None
    except PermanentProviderError as exc:
        log.error("checkout session refused", order=str(order_id), error=exc.reason)
        raise Problem(502, "Provider Refused", exc.reason, kind="provider-refused") from None


async def create_checkout_session(request: Request) -> Response:
    """The payment's open hosted session (200), or a new one (201) when none is open."""
    principal = authenticate_write(request)
    raw = await request.body()
    body = validate_json(CheckoutSessionBody, raw) if raw.strip() else CheckoutSessionBody()
    order_id = _order_id(request)
    urls = _return_urls(request, body, order_id)
    services = services_of(request)
    opened = await run_in_threadpool(_open_session, services, order_id, principal.subject, urls)
    session = opened.session
    out = CheckoutSessionOut(checkout_url=session.url, session_id=session.session_id)
    return json_response(out, status=201 if opened.created else 200)


_OWNER_ONLY = (
    "The order's owner only; tokens with the `service` or `auditor` role are read-only (403)."
)

OPERATIONS = [
    Operation(
        "POST",
        "/orders/{orderId}/payments/verify",
        verify_payment,
        operation_id="verifyRazorpayPayment",
        summary="Check the proof checkout.js hands over (owner; Razorpay). Webhooks confirm.",
        access=Access.CUSTOMER,
        description=_OWNER_ONLY,
        request=RazorpayPaymentProof,
        response=PaymentVerified,
        problems=(400, 401, 403, 404, 413, 422, 429, 503),
        tags=("payments",),
    ),
    Operation(
        "POST",
        "/orders/{orderId}/payments/checkout-session",
        create_checkout_session,
        operation_id="createCheckoutSession",
        summary=(
            "The unpaid order's open Stripe hosted Checkout page (200), or a new one (201) "
            "when none is open: one payment, one payable session (owner; Stripe)."
        ),
        access=Access.CUSTOMER,
        description=(
            "The body is optional: without one (or with `{}`) Stripe returns the customer "
            f"to the demo storefront's order page. {_OWNER_ONLY}"
        ),
        status=201,
        also=(200,),
        request=CheckoutSessionBody,
        body_required=False,
        response=CheckoutSessionOut,
        problems=(400, 401, 403, 404, 409, 413, 422, 429, 502, 503),
        tags=("payments",),
    ),
]
