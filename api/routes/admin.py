"""Operator views: the order listing, and captures that paid for no order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.auth import ADMIN, AUDITOR, authenticate, require_role
from api.consistency import await_views, position_headers
from api.operations import LOG_POSITION_HEADER, Access, Operation, order_links
from api.problems import Problem
from api.rate_limits import authenticate_read
from api.representations import json_response
from api.schemas import (
    AdminOrder,
    AdminOrdersQuery,
    CaptureReview,
    OrderPage,
    ReconciliationRunOut,
    ReconciliationRunPage,
    ResolveBody,
    ReviewPage,
    ReviewsQuery,
)
from api.services import ApiServices, services_of
from api.validation import invalid_request, parse_body, validate_query
from domain import actors
from projections import OrdersView, ReviewsView
from projections.queries import InvalidCursor, OrderSearch

log = structlog.get_logger(__name__)


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
    items = await run_in_threadpool(queries.list, query.kind, query.limit, query.status)
    return json_response(ReviewPage(items=[CaptureReview.model_validate(i) for i in items]))


RESOLVABLE = {"open"}


def _resolve(services: ApiServices, review: Mapping[str, Any], actor: str, reason: str) -> int:
    if review["kind"] == "foreign":
        return services.resolutions.foreign_capture(
            review["provider"], review["gatewayPaymentId"], actor, reason
        )
    return services.resolutions.discrepancy(
        UUID(review["paymentId"]), review["discrepancyId"], actor, reason
    )


async def resolve_review(request: Request) -> Response:
    """A person's decision on an open review; on the payment (or foreign capture) it is
    about, so the order's history shows it."""
    principal = require_role(authenticate(request), ADMIN)
    body = await parse_body(request, ResolveBody)
    review_id: str = request.path_params["reviewId"]
    services = services_of(request)
    await await_views(request, [ReviewsView.name], None, fresh=True)
    review = await run_in_threadpool(services.review_queries.get, review_id)
    if review is None:
        raise Problem(404, "Not Found", f"no review {review_id}")
    if review["status"] not in RESOLVABLE:
        raise Problem(
            409,
            "Conflict",
            f"review {review_id} is {review['status']}: only open reviews are resolved",
            kind="invalid-transition",
        )
    actor = actors.admin(principal.subject)
    position = await run_in_threadpool(_resolve, services, review, actor, body.reason)
    log.info("review resolved", review=review_id, by=actor, reason=body.reason)
    resolved = dict(review) | {
        "status": "resolved",
        "resolvedBy": actor,
        "resolution": body.reason,
    }
    return json_response(CaptureReview.model_validate(resolved), headers=position_headers(position))


async def list_reconciliations(request: Request) -> Response:
    require_role(authenticate_read(request), ADMIN, AUDITOR)
    runs = await run_in_threadpool(services_of(request).reconciliation_runs)
    return json_response(
        ReconciliationRunPage(items=[ReconciliationRunOut.model_validate(r) for r in runs])
    )


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
        "POST",
        "/admin/reviews/{reviewId}/resolve",
        resolve_review,
        operation_id="resolveReview",
        summary="Resolve an open review (a discrepancy, a foreign capture) with a reason.",
        access=Access.ADMIN,
        request=ResolveBody,
        response=CaptureReview,
        description=(
            "Recorded on the payment (or foreign capture) it is about, naming the admin and "
            "the reason. 409 for a review that is not `open` (resolved already, repaired "
            "or refunded automatically); 404 for an unknown review."
        ),
        problems=(400, 401, 403, 404, 409, 413, 422, 503),
        tags=("admin",),
    ),
    Operation(
        "GET",
        "/admin/reconciliations",
        list_reconciliations,
        operation_id="listReconciliations",
        summary=(
            "Reconciliation runs, newest first: window, what was compared, discrepancies by "
            "kind, repairs, and the error of a partial run."
        ),
        access=Access.ADMIN,
        roles=(ADMIN, AUDITOR),
        response=ReconciliationRunPage,
        problems=(401, 403, 429, 503),
        tags=("admin",),
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
