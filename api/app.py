"""The Starlette application factory. Routes stay thin: they parse, call a use case, render."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from api import health, openapi
from api.domain_problems import problem_for
from api.middleware import BodyLimitMiddleware, MetricsMiddleware
from api.operations import Operation
from api.pages.routes import routes as pages
from api.problems import Problem
from api.rate_limits import RateLimits
from api.routes import (
    admin,
    audit,
    captures,
    catalog,
    checkout,
    marks,
    orders,
    parked_webhooks,
    payments,
    refunds,
    webhooks,
)
from api.services import ApiServices
from application.errors import ApplicationError
from domain import DomainError

OPERATIONS: list[Operation] = [
    *checkout.OPERATIONS,
    *orders.OPERATIONS,
    *payments.OPERATIONS,
    *catalog.OPERATIONS,
    *admin.OPERATIONS,
    *parked_webhooks.OPERATIONS,
    *audit.OPERATIONS,
    *refunds.OPERATIONS,
    *captures.OPERATIONS,
    *marks.OPERATIONS,
    *webhooks.OPERATIONS,
    *health.OPERATIONS,
    *openapi.OPERATIONS,
]

log = structlog.get_logger(__name__)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(instance=request.url.path)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError | ApplicationError)
    return problem_for(exc).response(instance=request.url.path)


def _allowed_methods(routes: list[BaseRoute], request: Request) -> str:
    """Every method the path serves: a path may be served by one route per method."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] is Match.PARTIAL:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not Found", 405: "Method Not Allowed"}
    headers = dict(exc.headers or {})
    detail = str(exc.detail)
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request.app.routes, request)
        detail = f"{request.method} is not served here; this path serves {headers['Allow']}."
    problem = Problem(
        exc.status_code, titles.get(exc.status_code, "HTTP Error"), detail, headers=headers
    )
    return problem.response(instance=request.url.path)


async def _unavailable(request: Request, exc: Exception) -> Response:
    # The database is down or a lock wait timed out: worth retrying, not a bug.
    log.warning("database unavailable", path=request.url.path, error=str(exc))
    problem = Problem(
        503,
        "Service Unavailable",
        "The database is unavailable right now; retry shortly.",
        headers={"Retry-After": "2"},
    )
    return problem.response(instance=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    problem = Problem(500, "Internal Server Error", "An unexpected error occurred.")
    return problem.response(instance=request.url.path)


def _middleware(cors_origins: tuple[str, ...]) -> list[Middleware]:
    middleware = [Middleware(MetricsMiddleware)]
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "X-Log-Position",
                ],
                expose_headers=["X-Log-Position", "Retry-After", "Idempotent-Replayed"],
            )
        )
    middleware.append(Middleware(BodyLimitMiddleware))
    return middleware


def create_app(services: ApiServices) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.close()

    settings = services.settings
    app = Starlette(
        # The demo pages are HTML, not API operations: outside OpenAPI. They are routes of
        # their own, not a Mount at "": that would take every path no operation serves in
        # full, so a wrong method on an API path would be its 404 instead of a 405.
        routes=[*(operation.route for operation in OPERATIONS), *pages],
        middleware=_middleware(settings.cors_origins),
        exception_handlers={
            Problem: _problem,
            DomainError: _domain_error,
            ApplicationError: _domain_error,
            HTTPException: _http_error,
            **dict.fromkeys(services.unavailable_errors, _unavailable),
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.rate_limits = RateLimits(
        settings.rate_limit_per_customer,
        settings.rate_limit_per_ip,
        settings.rate_limit_reads_per_ip,
    )
    app.state.openapi = openapi.build_document(OPERATIONS)
    return app
