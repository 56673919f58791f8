"""POST /checkout: price the cart, reserve stock, open the order and its payment."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from api.consistency import position_headers
from api.operations import (
    IDEMPOTENCY_KEY_HEADER,
    LOG_POSITION_HEADER,
    REPLAYED_HEADER,
    Access,
    Link,
    Operation,
    order_links,
)
from api.rate_limits import authenticate_write
from api.representations import checkout_created, json_response
from api.schemas import IDEMPOTENCY_KEY, CheckoutBody, CheckoutCreated
from api.services import services_of
from api.validation import parse_body, validate_header
from application.checkout import CartItem, CheckoutRequest


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_KEY_HEADER.name)
    if value is None:
        return None
    return validate_header(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_HEADER.name, value)


async def post_checkout(request: Request) -> Response:
    principal = authenticate_write(request)
    key = _idempotency_key(request)
    body = await parse_body(request, CheckoutBody)
    command = CheckoutRequest(
        customer_id=principal.subject,
        items=tuple(CartItem(item.sku, item.quantity) for item in body.items),
        provider=body.provider,
        idempotency_key=key,
        capture=body.capture,
    )
    # Awaited, not run in the thread pool: the writer's thread decides and commits it
    # with every checkout queued beside it (adr/0019).
    placed = await asyncio.wrap_future(services_of(request).checkout_writer.submit(command))
    headers = position_headers(placed.position, placed.replayed)
    return json_response(checkout_created(placed), status=201, headers=headers)


OPERATIONS = [
    Operation(
        "POST",
        "/checkout",
        post_checkout,
        operation_id="checkout",
        summary="Place an order for the cart; prices come from the catalog.",
        access=Access.CUSTOMER,
        description=(
            "A customer's token (no role needed); tokens with the `service` or `auditor` "
            "role are read-only (403)."
        ),
        status=201,
        request=CheckoutBody,
        response=CheckoutCreated,
        problems=(400, 401, 403, 409, 413, 422, 429, 503),
        request_headers=(IDEMPOTENCY_KEY_HEADER,),
        response_headers=(LOG_POSITION_HEADER, REPLAYED_HEADER),
        tags=("checkout",),
        links=(
            *order_links(
                "getOrder",
                "getOrderPayment",
                "cancelOrder",
                "verifyRazorpayPayment",
                "createCheckoutSession",
                "getOrderHistory",
                "listRefunds",
                "requestRefund",
            ),
            Link("exportAuditLog", parameter="query.order"),
        ),
    )
]
