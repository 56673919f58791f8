"""Liveness, readiness (really reaches the database and the broker, and no follower of the
log is stopped at an event it cannot apply) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.operations import Access, Operation
from api.services import services_of


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    readiness = services_of(request).readiness_checks
    results = await asyncio.gather(*(run_in_threadpool(check) for check in readiness))
    checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in results}
    ready = all(c.ok for c in results)
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def metrics(request: Request) -> Response:
    # The process's own metrics, then the ones read from the database at scrape time
    # (the outbox backlog), which any API process can report for the whole engine.
    registry = services_of(request).metrics
    body = generate_latest() + await run_in_threadpool(generate_latest, registry)
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
