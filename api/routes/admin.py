"""Operator views: the order listing, and captures that paid for no order."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, AUDITOR, require_role
from api.consistency import await_views
from api.operations import LOG_POSITION_HEADER, Access, Operation, order_links
from api.rate_limits import authenticate_read
from api.representations import json_response
from api.schemas import (
    AdminOrder,
    AdminOrdersQuery,
    CaptureReview,
    OrderPage,
    ReviewPage,
    ReviewsQuery,
)
from api.services import services_of
from api.validation import invalid_request, validate_query
from projections import OrdersView, ReviewsView
from projections.queries import InvalidCursor, OrderSearch


async def list_orders(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    query = validate_query(AdminOrdersQuery, request.query_params)
    await await_views(request, [OrdersView.name], query.min_position)
    queries = services_of(request).order_queries
    criteria = OrderSearch(
        status=query.status,
        provider=query.provider,
        order_id=query.order,
        customer_id=query.customer,
        gateway_id=query.gateway_ref,
        created_from=query.created_from,
        created_to=query.created_to,
    )
    try:
        items, next_cursor = await run_in_threadpool(
            queries.search, criteria, query.limit, query.cursor
        )
    except InvalidCursor as exc:
        raise invalid_request(str(exc), [{"field": "cursor", "message": str(exc)}]) from None
    page = OrderPage(
        items=[AdminOrder.model_validate(item) for item in items], next_cursor=next_cursor
    )
    return json_response(page)


async def list_reviews(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN)
    query = validate_query(ReviewsQuery, request.query_params)
    await await_views(request, [ReviewsView.name], query.min_position)
    queries = services_of(request).review_queries
    items = await run_in_threadpool(queries.list, query.kind, query.limit)
    return json_response(ReviewPage(items=[CaptureReview.model_validate(i) for i in items]))


OPERATIONS = [
    Operation(
        "GET",
        "/admin/orders",
        list_orders,
        operation_id="listOrders",
        summary=(
            "Orders, newest first, found by id, customer, a provider's id, status, provider "
            "or placing time; follow nextCursor for more."
        ),
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        description=(
            "Every filter given narrows the list (AND); none lists every order. `createdFrom` "
            "is inclusive and `createdTo` exclusive, both RFC 3339 with an offset; "
            "`createdTo` must be later than `createdFrom`. The engine keeps no e-mail "
            "address, so there is no search by one. `nextCursor` names a place in the "
            "newest-first order: pass it with the same filters for the next page. A list: "
            "it reflects a write only when given its position (`X-Log-Position` or "
            "`minPosition`). A bad filter, or a malformed or foreign `cursor`, is 400 "
            "naming the parameter."
        ),
        query=AdminOrdersQuery,
        response=OrderPage,
        problems=(400, 401, 403, 429, 503),
        request_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
        links=order_links(
            "getOrder",
            "getOrderPayment",
            "getOrderHistory",
            "listRefunds",
            "requestRefund",
            expression="$response.body#/items/0/orderId",
        ),
    ),
    Operation(
        "GET",
        "/admin/reviews",
        list_reviews,
        operation_id="listCaptureReviews",
        summary=(
            "Captures that paid for no order, newest first: duplicates and mismatches "
            "(refunded automatically) and foreign captures (for a person to decide)."
        ),
        access=Access.ADMIN,
        query=ReviewsQuery,
        response=ReviewPage,
        problems=(400, 401, 403, 429, 503),
        request_headers=(LOG_POSITION_HEADER,),
        tags=("admin",),
    ),
]
