"""A customer's orders: list them, read one, poll its payment, cancel it while unpaid."""

from __future__ import annotations

from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import READ_ONLY_ROLES, Principal
from api.consistency import await_views, position_headers
from api.operations import LOG_POSITION_HEADER, Access, Operation
from api.problems import Problem, not_found
from api.rate_limits import authenticate_read, authenticate_write
from api.representations import json_response, order_from_aggregates
from api.schemas import CustomerOrderPage, CustomerOrdersQuery, OrderOut, PaymentOut, ReadQuery
from api.services import ApiServices, services_of
from api.validation import invalid_request, validate_query
from application.cancellations import Cancelled
from projections import OrdersView, PaymentsView
from projections.queries import InvalidCursor


def _order_id(request: Request) -> UUID:
    order_id: UUID = request.path_params["orderId"]
    return order_id


def _own_orders_of(principal: Principal) -> str:
    """The customer whose orders the token lists: its `sub`, unless it names no customer."""
    if principal.is_read_only:
        roles = ", ".join(sorted(principal.roles & READ_ONLY_ROLES))
        raise Problem(
            403,
            "Forbidden",
            f"A token with the role {roles} names no customer, so it has no orders of its "
            "own: read orders by id, or list them with GET /admin/orders (auditor).",
            kind="forbidden",
        )
    return principal.subject


async def list_own_orders(request: Request) -> Response:
    customer_id = _own_orders_of(authenticate_read(request))
    query = validate_query(CustomerOrdersQuery, request.query_params)
    await await_views(request, [OrdersView.name], query.min_position)
    queries = services_of(request).order_queries
    try:
        items, next_cursor = await run_in_threadpool(
            queries.list_for_customer, customer_id, query.limit, query.cursor
        )
    except InvalidCursor as exc:
        raise invalid_request(str(exc), [{"field": "cursor", "message": str(exc)}]) from None
    page = CustomerOrderPage(
        items=[OrderOut.model_validate(item) for item in items], next_cursor=next_cursor
    )
    return json_response(page)


async def get_order(request: Request) -> Response:
    principal = authenticate_read(request)
    query = validate_query(ReadQuery, request.query_params)
    await await_views(request, [OrdersView.name], query.min_position, fresh=True)
    record = await run_in_threadpool(services_of(request).order_queries.get, _order_id(request))
    if record is None or not principal.may_read(record.customer_id):
        raise not_found("No such order.")
    return json_response(OrderOut.model_validate(record.body))


async def get_payment(request: Request) -> Response:
    principal = authenticate_read(request)
    query = validate_query(ReadQuery, request.query_params)
    await await_views(request, [PaymentsView.name], query.min_position, fresh=True)
    record = await run_in_threadpool(services_of(request).payment_queries.get, _order_id(request))
    if record is None or not principal.may_read(record.customer_id):
        raise not_found("No such order.")
    return json_response(PaymentOut.model_validate(record.body))


def _cancel(services: ApiServices, order_id: UUID, customer_id: str) -> Cancelled:
    # Looked up in the worker thread: the first look at the application may connect.
    return services.cancellations.cancel(order_id, customer_id)


async def cancel_order(request: Request) -> Response:
    principal = authenticate_write(request)
    cancelled = await run_in_threadpool(
        _cancel, services_of(request), _order_id(request), principal.subject
    )
    # The command's own result, not a view: the response must not lag behind the write.
    body = order_from_aggregates(cancelled.order, cancelled.payment)
    return json_response(body, headers=position_headers(cancelled.position))


_READ_PROBLEMS = (400, 401, 404, 429, 503)
_READERS = (
    "The owner, or a token with the `admin`, `auditor` or `service` role; to anyone else "
    "the order does not exist (404)."
)
_FRESH = (
    "Reflects every write answered before this request began (read-your-writes without "
    "a position): it waits, at most 5 s, for the views to reach the log head it found "
    "on arrival, else 503 with Retry-After. `X-Log-Position` / `minPosition` may name a "
    "later position; beyond the log head it is 400."
)
_OWNER_WRITE = (
    "The order's owner only; tokens with the `service` or `auditor` role are read-only (403)."
)

_OWN_ORDERS = (
    "The orders whose `customerId` is the token's `sub`: a customer's own, never another's "
    "(an `admin` token lists the orders its `sub` placed; for the whole shop see GET "
    "/admin/orders). A token with the `service` or `auditor` role names no customer: 403.\n\n"
    "Each item is what GET /orders/{orderId} answers. Follow `nextCursor` (as `cursor`) for "
    "older orders; a malformed or foreign `cursor` is 400. A list: it reflects a write only "
    "when given its position (`X-Log-Position` or `minPosition`)."
)

OPERATIONS = [
    Operation(
        "GET",
        "/orders",
        list_own_orders,
        operation_id="listOwnOrders",
        summary="The caller's own orders, newest first; follow nextCursor for more.",
        access=Access.CUSTOMER,
        description=_OWN_ORDERS,
        query=CustomerOrdersQuery,
        response=CustomerOrderPage,
        problems=(400, 401, 403, 429, 503),
        request_headers=(LOG_POSITION_HEADER,),
        tags=("orders",),
    ),
    Operation(
        "GET",
        "/orders/{orderId}",
        get_order,
        operation_id="getOrder",
        summary="The order.",
        access=Access.CUSTOMER,
        description=f"{_READERS}\n\n{_FRESH}",
        query=ReadQuery,
        response=OrderOut,
        problems=_READ_PROBLEMS,
        request_headers=(LOG_POSITION_HEADER,),
        tags=("orders",),
    ),
    Operation(
        "GET",
        "/orders/{orderId}/payments",
        get_payment,
        operation_id="getOrderPayment",
        summary="The order's payment status, for frontends to poll.",
        access=Access.CUSTOMER,
        description=f"{_READERS}\n\n{_FRESH}",
        query=ReadQuery,
        response=PaymentOut,
        problems=_READ_PROBLEMS,
        request_headers=(LOG_POSITION_HEADER,),
        tags=("orders",),
    ),
    Operation(
        "POST",
        "/orders/{orderId}/cancel",
        cancel_order,
        operation_id="cancelOrder",
        summary="Cancel an unpaid order and release its stock (owner only).",
        access=Access.CUSTOMER,
        description=_OWNER_WRITE,
        response=OrderOut,
        problems=(401, 403, 404, 409, 429, 503),
        response_headers=(LOG_POSITION_HEADER,),
        tags=("orders",),
    ),
]
