"""Liveness, readiness (really reaches the database and the broker, and no follower of the
log is stopped at an event it cannot apply) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.operations import Access, Operation
from entrypoints.bootstrap import Container
from infrastructure.followers import check_followers
from infrastructure.readiness import check_broker, check_database


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    container: Container = request.app.state.container
    results = await asyncio.gather(
        run_in_threadpool(check_database, container.db),
        run_in_threadpool(check_broker, container.services.bootstrap_servers),
        run_in_threadpool(check_followers, container.db),
    )
    checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in results}
    ready = all(c.ok for c in results)
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    # The process's own metrics, then the ones read from the database at scrape time
    # (the outbox backlog), which any API process can report for the whole engine.
    container: Container = request.app.state.container
    body = generate_latest() + await run_in_threadpool(generate_latest, container.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


OPERATIONS = [
    Operation(
        "GET",
        "/healthz",
        healthz,
        operation_id="healthz",
        summary="Liveness: the process answers.",
        access=Access.PUBLIC,
        tags=("operations",),
    ),
    Operation(
        "GET",
        "/readyz",
        readyz,
        operation_id="readyz",
        summary="Readiness: the database and the broker are reachable (503 if not).",
        access=Access.PUBLIC,
        also=(503,),
        tags=("operations",),
    ),
    Operation(
        "GET",
        "/metrics",
        metrics,
        operation_id="metrics",
        summary="Prometheus metrics.",
        access=Access.PUBLIC,
        media_type="text/plain",
        tags=("operations",),
    ),
]

routes: list[Route] = [operation.route for operation in OPERATIONS]
