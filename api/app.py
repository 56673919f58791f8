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

from api import health
from api.middleware import BodyLimitMiddleware, MetricsMiddleware
from api.problems import Problem
from infrastructure.bootstrap import Container

log = structlog.get_logger(__name__)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(instance=request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not Found", 405: "Method Not Allowed"}
    problem = Problem(
        exc.status_code,
        titles.get(exc.status_code, "HTTP Error"),
        str(exc.detail),
        headers=dict(exc.headers or {}),
    )
    return problem.response(instance=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    problem = Problem(500, "Internal Server Error", "An unexpected error occurred.")
    return problem.response(instance=request.url.path)


def create_app(container: Container) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            container.close()

    middleware = [Middleware(MetricsMiddleware)]
    if container.settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(container.settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["X-Log-Position", "Retry-After"],
            )
        )
    middleware.append(Middleware(BodyLimitMiddleware))
    app = Starlette(
        routes=[*health.routes],
        middleware=middleware,
        exception_handlers={
            Problem: _problem,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.state.container = container
    return app
